namespace Backprop.Reporting;

/// <summary>A test example the model got wrong.</summary>
/// <param name="Index">Row of the example in the test set.</param>
/// <param name="Actual">Its true class.</param>
/// <param name="Predicted">The class the model chose.</param>
/// <param name="Probability">The probability (or score) the model gave its choice.</param>
public sealed record Misclassification(int Index, int Actual, int Predicted, double Probability);
