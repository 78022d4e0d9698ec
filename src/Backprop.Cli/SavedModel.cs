using Backprop.Data;
using Backprop.IO;
using Backprop.Nn;

namespace Backprop.Cli;

/// <summary>A model loaded for <c>evaluate</c> and <c>predict</c>, with the input standardization it was trained with.</summary>
internal sealed record SavedModel(Module Model, ModelInfo Info, string Path)
{
    public static SavedModel Load(CommandLine cl)
    {
        var path = cl.String("model") ?? throw new UsageException("--model FILE is required (a .safetensors file written by 'backprop train').");
        var (model, info) = ModelFile.Load(path);
        return new SavedModel(model, info, path);
    }

    /// <summary>The built-in dataset the model was trained on, if it was one (the default data for evaluate and explain).</summary>
    public string? BuiltInDataset => Info.Dataset switch
    {
        { } d when Datasets.Names.Contains(d) => d,
        // A model trained on Fashion-MNIST's official split records the dataset's name (older files: the training
        // half's); evaluate it on the official test set.
        "fashion-mnist" or "fashion-mnist-train" => "fashion-mnist",
        _ => null,
    };

    public ILoss Loss => Losses.ByName(Info.Loss ?? (Info.ClassNames is null ? "mse" : "cross_entropy"));

    /// <summary>Features as the model saw them in training (standardized when it was).</summary>
    public Tensor Prepare(Tensor features)
    {
        if (Info.FeatureNames.Count > 0 && features.Shape[1] != Info.FeatureNames.Count)
            throw new ShapeMismatchException($"{Path} expects {Info.FeatureNames.Count} features ({string.Join(", ", Info.FeatureNames)}) but the data has {features.Shape[1]}.");
        return Info.InputMean is { } mean && Info.InputStd is { } std ? new Standardizer(mean, std).Transform(features) : features;
    }

    /// <summary>The model's outputs in the target's units (regression models trained on standardized targets).</summary>
    public Tensor ToTargetUnits(Tensor outputs) =>
        Info.TargetMean is { } mean && Info.TargetStd is { } std ? Preprocessing.Unstandardize(outputs, mean, std) : outputs;

    /// <summary>Rows as the model saw them in training: features prepared, regression targets standardized when they were.</summary>
    public Dataset PrepareData(Dataset data)
    {
        var prepared = data.WithFeatures(Prepare(data.Features));
        return !data.IsClassification && Info.TargetMean is { } mean && Info.TargetStd is { } std
            ? Preprocessing.StandardizeTargets(prepared, new Standardizer(mean, std)) : prepared;
    }
}
