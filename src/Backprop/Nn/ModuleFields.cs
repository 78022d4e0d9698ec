using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace Backprop.Nn;

/// <summary>
/// Finds a module's children, parameters, buffers and random generators from its fields, the way PyTorch's
/// <c>nn.Module</c> finds them from its attributes, so a custom module needs only a constructor and
/// <see cref="Module.Forward(Tensor)"/>. Auto-properties and captured primary-constructor parameters count as fields, named
/// as written (<c>fc1</c>, not the compiler's backing-field name).
/// </summary>
/// <remarks>
/// What each field type means:
/// <list type="bullet">
/// <item><see cref="Module"/>: a child, named after the field;</item>
/// <item><see cref="Tensor"/>: a parameter (a frozen one too: <c>RequiresGrad = false</c> freezes it but it is still
/// saved), unless marked <see cref="BufferAttribute"/> (saved, never trained) or <see cref="ConstantAttribute"/>
/// (neither saved nor trained);</item>
/// <item><see cref="Rng"/>: a generator whose state a checkpoint saves;</item>
/// <item>an array, list or other sequence of modules or tensors: children or parameters named <c>field.0</c>,
/// <c>field.1</c>, ... (PyTorch's <c>ModuleList</c>/<c>ParameterList</c>), and a dictionary keyed by strings:
/// <c>field.key</c> (<c>ModuleDict</c>).</item>
/// </list>
/// Fields are read in declaration order, base class first, and read again at every call: a module may replace a
/// child after construction. A field whose type holds modules or tensors in some other way (a tuple, a lazy value) is
/// an error rather than a silently empty module.
/// <para>Trimming and native AOT: <see cref="Module"/> carries <see cref="Members"/> as its
/// <see cref="DynamicallyAccessedMembersAttribute"/>, so every derived type keeps the members read here. Collections
/// are recognized by casts (<c>IEnumerable&lt;Module&gt;</c> is covariant, so a <c>List&lt;Dense&gt;</c> is one) and
/// dictionaries through the non-generic <see cref="IDictionary"/>, never by walking a field type's interfaces.</para>
/// </remarks>
internal static class ModuleFields
{
    /// <summary>What reflection reads from a module type: its fields, the properties behind backing fields, Forward.</summary>
    public const DynamicallyAccessedMemberTypes Members = DynamicallyAccessedMemberTypes.PublicFields | DynamicallyAccessedMemberTypes.NonPublicFields
        | DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.NonPublicProperties | DynamicallyAccessedMemberTypes.PublicMethods;

    private enum Kind { Module, Tensor, Buffer, Generator, Modules, Tensors, Buffers }

    // Keyed: a string-keyed dictionary (named field.key), otherwise a sequence (field.0, field.1, ...).
    private sealed record Field(string Name, FieldInfo Info, Kind Kind, bool Keyed);

    private static readonly ConcurrentDictionary<Type, Field[]> Cache = new();

    public static IEnumerable<(string Name, Module Module)> Children(Module owner) => Items<Module>(owner, Kind.Module, Kind.Modules);

    public static IEnumerable<(string Name, Tensor Parameter)> Parameters(Module owner) => Items<Tensor>(owner, Kind.Tensor, Kind.Tensors);

    public static IEnumerable<(string Name, Tensor Buffer)> Buffers(Module owner) => Items<Tensor>(owner, Kind.Buffer, Kind.Buffers);

    public static IEnumerable<(string Name, Rng Generator)> Generators(Module owner) => Items<Rng>(owner, Kind.Generator, null);

    private static IEnumerable<(string Name, T Item)> Items<T>(Module owner, Kind single, Kind? many) where T : class
    {
        foreach (var field in Of(owner.GetType()))
        {
            object? value = field.Info.GetValue(owner);
            if (value is null) continue;
            if (field.Kind == single && value is T item) yield return (field.Name, item);
            else if (field.Kind == many)
                foreach (var (key, element) in Elements(owner, field, value))
                    if (element is T t) yield return ($"{field.Name}.{key}", t);
        }
    }

    // (index or key, element) of a sequence or a string-keyed dictionary.
    private static IEnumerable<(string Key, object? Element)> Elements(Module owner, Field field, object collection)
    {
        if (field.Keyed)
        {
            if (collection is not IDictionary dictionary)
                throw new InvalidOperationException(
                    $"{owner.GetType().Name}.{field.Name} is a {Describe(collection.GetType())}, a string-keyed collection that is not an IDictionary, " +
                    "so Backprop cannot name its entries: use a Dictionary<string, T> (or SortedDictionary), or override Children()/OwnParameters().");
            foreach (DictionaryEntry entry in dictionary) yield return ((string)entry.Key, entry.Value);
            yield break;
        }
        int i = 0;
        foreach (var element in (IEnumerable)collection)
            yield return (i++.ToString(System.Globalization.CultureInfo.InvariantCulture), element);
    }

    private static readonly ConcurrentDictionary<Type, bool> ListForward = new();

    /// <summary>Whether <paramref name="type"/> (a module) overrides <c>Forward(IReadOnlyList&lt;Tensor&gt;)</c>.</summary>
    public static bool OverridesListForward([DynamicallyAccessedMembers(Members)] Type type)
    {
        if (ListForward.TryGetValue(type, out bool overrides)) return overrides;
        overrides = type.GetMethod(nameof(Module.Forward), [typeof(IReadOnlyList<Tensor>)])!.DeclaringType != typeof(Module);
        ListForward[type] = overrides;
        return overrides;
    }

    private static readonly ConcurrentDictionary<Type, bool> OutputsForward = new();

    /// <summary>Whether <paramref name="type"/> (a module) overrides <c>ForwardOutputs</c>, i.e. may return several outputs.</summary>
    public static bool OverridesForwardOutputs([DynamicallyAccessedMembers(Members)] Type type)
    {
        if (OutputsForward.TryGetValue(type, out bool overrides)) return overrides;
        overrides = type.GetMethod(nameof(Module.ForwardOutputs), [typeof(IReadOnlyList<Tensor>)])!.DeclaringType != typeof(Module);
        OutputsForward[type] = overrides;
        return overrides;
    }

    private static Field[] Of([DynamicallyAccessedMembers(Members)] Type type) =>
        Cache.TryGetValue(type, out var fields) ? fields : Cache.GetOrAdd(type, Discover(type));

    private static Field[] Discover([DynamicallyAccessedMembers(Members)] Type type)
    {
        var levels = new Stack<Type>();
        for (var t = type; t is not null && t != typeof(Module); t = t.BaseType) levels.Push(t);
        var fields = new List<Field>();
        foreach (var level in levels)
            foreach (var info in DeclaredFields(level))
            {
                if (info.IsDefined(typeof(ConstantAttribute)) || PropertyOf(info)?.IsDefined(typeof(ConstantAttribute)) == true) continue;
                bool buffer = info.IsDefined(typeof(BufferAttribute)) || PropertyOf(info)?.IsDefined(typeof(BufferAttribute)) == true;
                var kind = KindOf(info.FieldType, buffer);
                if (kind is { } k) fields.Add(new Field(CleanName(info.Name), info, k, k is Kind.Modules or Kind.Tensors or Kind.Buffers && StringKeyedValue(info.FieldType) is not null));
                else if (MentionsState(info.FieldType))
                    throw new InvalidOperationException(
                        $"{type.Name}.{CleanName(info.Name)} is a {Describe(info.FieldType)}, which holds modules or tensors in a way Backprop cannot " +
                        "name, so they would be neither trained nor saved: keep them in fields of their own, an array, a List<T> or a " +
                        "Dictionary<string, T>, mark the field [Constant] if it is not state, or override Children()/OwnParameters().");
            }
        return [.. fields];
    }

    // Every level from the module's own type down to (not including) Module derives from Module, so the annotation on
    // Module keeps each level's fields; Type.BaseType carries only the public part of an annotation, hence the
    // suppression.
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Every level is a type derived from Module, whose [DynamicallyAccessedMembers] keeps its fields.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Every level is a type derived from Module, whose [DynamicallyAccessedMembers] keeps its fields.")]
    private static FieldInfo[] DeclaredFields(Type level) =>
        level.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly);

    private static Kind? KindOf(Type type, bool buffer)
    {
        if (typeof(Module).IsAssignableFrom(type)) return Kind.Module;
        if (type == typeof(Tensor)) return buffer ? Kind.Buffer : Kind.Tensor;
        if (type == typeof(Rng)) return Kind.Generator;
        if (type == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(type)) return null;
        // IEnumerable<T> is covariant: Dense[], List<Dense> and IReadOnlyList<Conv2d> are all IEnumerable<Module>.
        if (typeof(IEnumerable<Module>).IsAssignableFrom(type)) return Kind.Modules;
        if (typeof(IEnumerable<Tensor>).IsAssignableFrom(type)) return buffer ? Kind.Buffers : Kind.Tensors;
        if (StringKeyedValue(type) is not { } value) return null;
        if (typeof(Module).IsAssignableFrom(value)) return Kind.Modules;
        if (value == typeof(Tensor)) return buffer ? Kind.Buffers : Kind.Tensors;
        return null;
    }

    // V of a string-keyed dictionary type (Dictionary<string, V>, IReadOnlyDictionary<string, V>, ...): a generic
    // collection whose two type arguments are string and V. Its entries are read through IDictionary.
    private static Type? StringKeyedValue(Type type) =>
        type.IsGenericType && type.GetGenericArguments() is [var key, var value] && key == typeof(string)
        && (typeof(IDictionary).IsAssignableFrom(type) || type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)
            || type.GetGenericTypeDefinition() == typeof(IDictionary<,>))
            ? value : null;

    // Whether a type we cannot walk still carries modules or tensors in its generic arguments or elements.
    private static bool MentionsState(Type type) =>
        typeof(Module).IsAssignableFrom(type) || type == typeof(Tensor)
        || (type.IsArray && MentionsState(type.GetElementType()!))
        || (type.IsGenericType && type.GetGenericArguments().Any(MentionsState));

    private static string Describe(Type type) =>
        !type.IsGenericType ? type.Name
        : $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(Describe))}>";

    // "<fc1>k__BackingField" (an auto-property) and "<fc1>P" (a captured primary-constructor parameter) → "fc1".
    private static string CleanName(string name) =>
        name.StartsWith('<') && name.IndexOf('>', StringComparison.Ordinal) is > 1 and var end ? name[1..end] : name;

    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "The declaring type is a type derived from Module, whose [DynamicallyAccessedMembers] keeps its properties.")]
    private static PropertyInfo? PropertyOf(FieldInfo backing) =>
        backing.Name.EndsWith(">k__BackingField", StringComparison.Ordinal)
            ? backing.DeclaringType!.GetProperty(CleanName(backing.Name), BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
            : null;
}
