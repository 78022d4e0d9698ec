using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Backprop.Data;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary>
/// What <c>backprop train --checkpoint DIR</c> stores beside the library's training state so that
/// <c>--resume</c> can refuse a different run: the options that shape the run, and a SHA-256 of the training and
/// validation rows as fed to the model (after the split and standardization, so it also pins the standardizer).
/// </summary>
internal static class TrainCheckpoint
{
    public const string Help =
        "  --checkpoint DIR     save DIR/checkpoint.safetensors after every epoch (atomically) and on Ctrl-C\n" +
        "  --resume             continue the run saved in --checkpoint DIR; same options give the same result\n" +
        "                       bit for bit (--epochs may grow unless the schedule is cosine)\n";

    private const string OptionsKey = "cli.options";
    private const string DataKey = "cli.data_sha256";

    /// <summary>Options that change where output goes, or (epochs) how long the run lasts, not what it computes.</summary>
    private static readonly HashSet<string> Unchecked = ["checkpoint", "resume", "save", "json", "log-every", "epochs", "report"];

    /// <summary>The metadata to save: the run's options and <paramref name="dataHash"/> (from <see cref="Hash"/>).</summary>
    public static Dictionary<string, string> Metadata(CommandLine cl, string dataHash) => new()
    {
        [OptionsKey] = JsonSerializer.Serialize(RunOptions(cl)),
        ["cli.epochs"] = cl.String("epochs") ?? "",
        [DataKey] = dataHash,
    };

    /// <summary>Throws when the checkpoint in <paramref name="dir"/> was made with other options, naming each difference.</summary>
    public static void CheckOptions(CommandLine cl, string dir)
    {
        var metadata = Checkpoint.ReadMetadata(dir);
        if (!metadata.TryGetValue(OptionsKey, out var json))
            throw new InvalidOperationException($"the checkpoint in '{dir}' was not written by 'backprop train'; it cannot be resumed here.");
        var saved = JsonSerializer.Deserialize<Dictionary<string, string?>>(json) ?? [];
        var now = RunOptions(cl);
        var differences = saved.Keys.Union(now.Keys).Order(StringComparer.Ordinal)
            .Where(k => !(saved.TryGetValue(k, out var a) & now.TryGetValue(k, out var b)) || a != b)
            .Select(k => $"--{k} {Show(saved, k)} in the checkpoint but {Show(now, k)} now").ToList();
        if (differences.Count > 0)
            throw new InvalidOperationException($"cannot resume the checkpoint in '{dir}' with other options: {string.Join("; ", differences)}.");
        // Without --schedule a fixed-length run anneals with cosine (TrainDefaults.Length); only --patience keeps it constant.
        if ((cl.String("schedule") ?? (cl.Has("patience") ? "constant" : "cosine")).StartsWith("cosine", StringComparison.Ordinal)
            && metadata.TryGetValue("cli.epochs", out var epochs) && epochs != (cl.String("epochs") ?? ""))
            throw new InvalidOperationException($"cannot resume the checkpoint in '{dir}' with --epochs {cl.String("epochs") ?? "(default)"}: it ran with {(epochs.Length == 0 ? "the default" : epochs)}, and the cosine schedule is laid out over the run's length.");
    }

    /// <summary>Throws when the rows now fed to the model (their <see cref="Hash"/>) differ from the checkpoint's.</summary>
    public static void CheckData(string dir, string dataHash)
    {
        var metadata = Checkpoint.ReadMetadata(dir);
        if (metadata.TryGetValue(DataKey, out var saved) && saved != dataHash)
            throw new InvalidOperationException($"cannot resume the checkpoint in '{dir}': the training data differs from the data it was trained on (same options, but the data file's contents changed).");
    }

    private static Dictionary<string, string?> RunOptions(CommandLine cl) =>
        cl.Options.Where(o => !Unchecked.Contains(o.Key)).ToDictionary(o => o.Key, o => o.Value);

    private static string Show(Dictionary<string, string?> options, string key) =>
        !options.TryGetValue(key, out var v) ? "absent" : v is null ? "set" : $"'{v}'";

    /// <summary>SHA-256 of the training and validation rows as fed to the model (after split and standardization).</summary>
    public static string Hash(Dataset train, Dataset? validation)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in new[] { train.Features, train.Targets, validation?.Features, validation?.Targets })
            if (t is not null) sha.AppendData(MemoryMarshal.AsBytes(t.AsSpan()));
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
