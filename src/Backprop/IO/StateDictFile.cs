using Backprop.Nn;

namespace Backprop.IO;

/// <summary>
/// A model's state (<see cref="Module.StateDict"/>) in a <c>.safetensors</c> file and back: weights only, for a model
/// the user builds in code (a custom module, a layer type that no model file can name). PyTorch's
/// <c>safetensors.torch.load_file</c> reads the file; the names and layouts are Backprop's (see the README's layer
/// table: Dense stores W as [in, out], the transpose of nn.Linear's).
/// </summary>
public static class StateDictFile
{
    /// <summary>Writes every parameter and buffer of <paramref name="model"/>, by name, to <paramref name="path"/> (atomically).</summary>
    public static void SaveStateDict(this Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        SafeTensors.Write(path, model.StateDict());
    }

    /// <summary>
    /// Loads the tensors of the safetensors file at <paramref name="path"/> (a state dict, or a Backprop model file)
    /// into <paramref name="model"/> by name, with the checks of <see cref="Module.LoadStateDict(IReadOnlyDictionary{string, Tensor}, bool)"/>.
    /// </summary>
    /// <returns>The model's names the file lacks and the file's names the model lacks (both empty when strict).</returns>
    /// <exception cref="ModelFormatException">The file is unreadable, or its tensors do not fit the model; the message names each.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static (IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected) LoadStateDict(this Module model, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (tensors, _) = SafeTensors.Read(path);
        try
        {
            return model.LoadStateDict(tensors, strict);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(path, e.Message, e);
        }
    }
}
