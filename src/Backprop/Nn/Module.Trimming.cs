using System.Diagnostics.CodeAnalysis;

namespace Backprop.Nn;

// ModuleFields reads every module type's fields (and the properties behind auto-property backing fields, for their
// [Buffer]/[Constant] attributes) and looks up its Forward overloads. Annotating the base class tells the trimmer
// and the native AOT compiler to keep those members on every type derived from Module, so a custom module found by
// reflection keeps its state in a trimmed or native AOT app.
[DynamicallyAccessedMembers(ModuleFields.Members)]
public abstract partial class Module;
