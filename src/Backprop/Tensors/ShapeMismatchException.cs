namespace Backprop;

/// <summary>
/// Thrown when tensors' shapes do not fit an operation. The message names the operation and both shapes, e.g.
/// <c>matmul: [2,3] · [4,5]: inner dimensions 3 and 4 differ</c>.
/// </summary>
public sealed class ShapeMismatchException(string message) : ArgumentException(message);
