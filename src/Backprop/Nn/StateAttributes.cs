namespace Backprop.Nn;

/// <summary>
/// Marks a <see cref="Tensor"/> field or property of a custom <see cref="Module"/> as a buffer: state that is saved
/// in model files and checkpoints and loaded by <c>LoadStateDict</c>, but never trained (PyTorch's
/// <c>register_buffer</c>), e.g. a running average.
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, Inherited = true)]
public sealed class BufferAttribute : Attribute;

/// <summary>
/// Marks a <see cref="Tensor"/> field or property of a custom <see cref="Module"/> as a constant: neither trained nor
/// saved (a fixed mask, a table the constructor computes). Without it a tensor field is a parameter.
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, Inherited = true)]
public sealed class ConstantAttribute : Attribute;
