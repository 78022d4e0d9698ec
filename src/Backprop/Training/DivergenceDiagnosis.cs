using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Training;

/// <summary>
/// Finds where a diverged batch first went non-finite, after the fact, so the training step itself checks nothing
/// but its loss: the batch is run again through the autograd graph one layer at a time (nested Sequentials
/// expanded, as <c>backprop summary</c> numbers them), in the order the values were computed: each layer's weights,
/// then each layer's output in the forward pass, then the loss, then the gradients from the last layer back to the first.
/// </summary>
internal static class DivergenceDiagnosis
{
    /// <summary>A layer (its path and description) and what of it was non-finite; Site None when nothing was.</summary>
    internal readonly record struct Finding(string? Layer, string? LayerName, NonFiniteSite Site)
    {
        /// <summary><c>layer 2 (Dense(64→10))</c>, or <c>the model (…)</c> when it is not a Sequential.</summary>
        public string Describe() => Layer is null ? $"the model ({LayerName})" : $"layer {Layer} ({LayerName})";
    }

    /// <summary>Re-runs the batch of <paramref name="train"/>'s <paramref name="rows"/> and names the first non-finite values.</summary>
    /// <remarks>Runs in the model's current mode (training, as the step did), so BatchNorm and Dropout behave as they did;
    /// it overwrites the parameters' gradients, which the caller no longer needs.</remarks>
    public static Finding Find(Module model, Dataset train, ILoss loss, ReadOnlySpan<int> rows)
    {
        if (FirstNonFiniteWeights(model) is { Site: NonFiniteSite.Weights } weights) return weights;
        if (OutputTerms.Apply(model, train, loss)) return FindInOutputs(model, train, loss, rows);
        var layers = Layers(model);
        using var step = TensorArena.Step();
        model.ZeroGrad();
        var (inputs, y) = DataLoader.GatherInputs(train, rows, model);
        var outputs = new Tensor[layers.Count];
        var a = inputs[0];
        for (int i = 0; i < layers.Count; i++)
        {
            // A model with several inputs is not a Sequential, so it is its own single layer and takes them all.
            a = inputs.Length > 1 ? layers[i].Module.Forward(inputs) : layers[i].Module.Forward(a);
            if (a.RequiresGrad && !a.IsLeaf) a.RetainGrad();
            outputs[i] = a;
            if (!DivergenceGuard.AllFinite(a.AsSpan())) return At(layers[i], NonFiniteSite.Activations);
        }
        var cost = loss.Compute(a, TargetAdapter.ForLoss(y, a, loss, train.IsClassification));
        if (!float.IsFinite(cost.Item())) return new Finding(null, null, NonFiniteSite.Loss);
        if (!cost.RequiresGrad) return default;
        cost.Backward();
        for (int i = layers.Count - 1; i >= 0; i--)
        {
            bool finite = outputs[i].Grad is not { } g || DivergenceGuard.AllFinite(g.AsSpan());
            foreach (var (_, p) in layers[i].Module.NamedParameters())
                finite &= p.Grad is not { } pg || DivergenceGuard.AllFinite(pg.AsSpan());
            if (!finite) return At(layers[i], NonFiniteSite.Gradients);
        }
        return default;
    }

    // A model with several outputs is one layer, run whole: its outputs, then the loss, then its gradients.
    private static Finding FindInOutputs(Module model, Dataset train, ILoss loss, ReadOnlySpan<int> rows)
    {
        using var step = TensorArena.Step();
        model.ZeroGrad();
        var (inputs, targets) = DataLoader.GatherAll(train, rows);
        var outputs = model.ForwardOutputs(inputs);
        var whole = ("model", model);
        if (outputs.Any(o => !DivergenceGuard.AllFinite(o.AsSpan()))) return At(whole, NonFiniteSite.Activations);
        var cost = OutputTerms.Loss(outputs, targets, train.IntTargets?.Rows(rows), loss, train, validate: false).Total;
        if (!float.IsFinite(cost.Item())) return new Finding(null, null, NonFiniteSite.Loss);
        if (!cost.RequiresGrad) return default;
        cost.Backward();
        foreach (var (_, p) in model.NamedParameters())
            if (p.Grad is { } g && !DivergenceGuard.AllFinite(g.AsSpan())) return At(whole, NonFiniteSite.Gradients);
        return default;
    }

    /// <summary>The first layer whose parameters or buffers hold a NaN or an infinity (Site None when none does).</summary>
    public static Finding FirstNonFiniteWeights(Module model)
    {
        foreach (var layer in Layers(model))
        {
            var tensors = layer.Module.NamedParameters().Select(p => p.Parameter).Concat(layer.Module.NamedBuffers().Select(b => b.Buffer));
            if (tensors.Any(t => !DivergenceGuard.AllFinite(t.AsSpan()))) return At(layer, NonFiniteSite.Weights);
        }
        return default;
    }

    private static List<(string Path, Module Module)> Layers(Module model) => Sequential.Leaves(model);

    // Leaves' paths are model.2 or model.1.0; a model that is not a Sequential is the single leaf "model".
    private static Finding At((string Path, Module Module) layer, NonFiniteSite site) =>
        new(layer.Path == "model" ? null : layer.Path["model.".Length..], layer.Module.ToString(), site);
}
