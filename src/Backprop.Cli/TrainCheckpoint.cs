using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Backprop.Data;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary>
/// What <c>backprop train --checkpoint DIR</c> stores beside the library's training state so that
/// <c>--resume</c> can refuse a different run: the values of the options that shape the run (as parsed, defaults
/// included, so <c>--lr 1e-2</c>, <c>--lr 0.01</c> and leaving out a default of 0.01 are one value), and a SHA-256 of
/// the training and validation rows as fed to the model (after the split and standardization, so it also pins the
/// standardizer).
/// </summary>
internal static class TrainCheckpoint
{
    public const string Help =
        "  --checkpoint DIR     save DIR/checkpoint.safetensors after every epoch (atomically) and on Ctrl-C or SIGTERM\n" +
        "  --resume             continue the run saved in --checkpoint DIR; same options give the same result\n" +
        "                       bit for bit (--epochs may grow unless the schedule is cosine or onecycle, never shrink)\n" +
        "  --overwrite          start a new run in a --checkpoint DIR that already holds one, replacing it\n";

    // Options as the run used them (CommandLine.Used: defaults filled in, numbers in one spelling). Checkpoints
    // written before values were recorded hold the options' text instead (LegacyOptionsKey).
    private const string ValuesKey = "cli.values";
    private const string LegacyOptionsKey = "cli.options";
    private const string DataKey = "cli.data_sha256";

    /// <summary>Options that change where output goes, or (epochs) how long the run lasts, not what it computes.</summary>
    private static readonly HashSet<string> Unchecked = ["checkpoint", "resume", "overwrite", "save", "json", "log-every", "epochs", "report", "distributed", "distributed-timeout"];

    /// <summary>The metadata to save: the values of the run's options and <paramref name="dataHash"/> (from <see cref="Hash"/>).</summary>
    public static Dictionary<string, string> Metadata(CommandLine cl, string dataHash) => new()
    {
        [ValuesKey] = JsonSerializer.Serialize(new SortedDictionary<string, string?>(cl.Used.ToDictionary(), StringComparer.Ordinal), OptionValuesJson.Default.SortedDictionaryStringString),
        [DataKey] = dataHash,
    };

    /// <summary>
    /// The checks that need nothing but the command line, made before any data is loaded: the checkpoint exists, is
    /// whole (its checksum), comes from 'backprop train', and has not gone past <c>--epochs</c>.
    /// </summary>
    public static void CheckPosition(string dir, int epochs)
    {
        var metadata = Checkpoint.ReadMetadata(dir);
        if (!metadata.ContainsKey(ValuesKey) && !metadata.ContainsKey(LegacyOptionsKey))
            throw new InvalidOperationException($"the checkpoint in '{dir}' was not written by 'backprop train'; it cannot be resumed here.");
        var (done, batch) = Checkpoint.ReadPosition(dir);
        int reached = done + (batch > 0 ? 1 : 0);
        if (epochs < reached)
            throw new RefusedException(batch > 0
                ? $"cannot resume the checkpoint in '{dir}' with --epochs {epochs}: it is part-way through epoch {reached}. Give --epochs {reached} or more to continue it (a run cannot be shortened to fewer epochs than it has trained)."
                : $"cannot resume the checkpoint in '{dir}' with --epochs {epochs}: it has already trained {done} epochs. Give --epochs {done} or more to continue it (--epochs {done} saves its model as it is; a run cannot be shortened).");
    }

    /// <summary>
    /// Throws when the checkpoint in <paramref name="dir"/> was made with other option values, naming each difference,
    /// or on other data (<paramref name="dataHash"/>, from <see cref="Hash"/>). Call it once every option is read.
    /// </summary>
    public static void CheckResume(CommandLine cl, string dir, string dataHash) => CheckResume(cl, dir, dataHash, Checkpoint.ReadMetadata(dir));

    /// <summary>
    /// <see cref="CheckResume(CommandLine, string, string)"/> against the <paramref name="metadata"/> of a checkpoint
    /// read already (a text run's, <see cref="Text.TextCheckpoint.ReadMetadata"/>).
    /// </summary>
    public static void CheckResume(CommandLine cl, string dir, string dataHash, IReadOnlyDictionary<string, string> metadata)
    {
        var differences = metadata.TryGetValue(ValuesKey, out var json) ? ValueDifferences(cl, json) : LegacyDifferences(cl, metadata.GetValueOrDefault(LegacyOptionsKey, "{}"));
        if (differences.Count > 0)
            throw new InvalidOperationException($"cannot resume the checkpoint in '{dir}' with other options: {string.Join("; ", differences)}.");
        var saved = json is null ? [] : JsonSerializer.Deserialize(json, OptionValuesJson.Default.DictionaryStringString) ?? [];
        if (cl.Used.GetValueOrDefault("schedule") is { } laidOut && (laidOut.StartsWith("cosine", StringComparison.Ordinal) || laidOut.StartsWith("onecycle", StringComparison.Ordinal))
            && saved.TryGetValue("epochs", out var epochs) && epochs != cl.Used.GetValueOrDefault("epochs"))
            throw new InvalidOperationException($"cannot resume the checkpoint in '{dir}' with --epochs {cl.Used.GetValueOrDefault("epochs")}: it ran with {epochs}, and the {(laidOut.StartsWith('c') ? "cosine" : "one-cycle")} schedule is laid out over the run's length.");
        if (metadata.TryGetValue(DataKey, out var savedHash) && savedHash != dataHash)
            throw new InvalidOperationException($"cannot resume the checkpoint in '{dir}': the training data differs from the data it was trained on (same options, but the data file's contents changed).");
    }

    // An option missing from one side was not read by that run (e.g. --momentum without sgd). The data options
    // (--dataset, --data-dir, ...) have no default of their own; when one side leaves them out, the data hash
    // compared next decides whether the rows are the same.
    private static List<string> ValueDifferences(CommandLine cl, string json)
    {
        var saved = JsonSerializer.Deserialize(json, OptionValuesJson.Default.DictionaryStringString) ?? [];
        var now = cl.Used;
        return [.. saved.Keys.Union(now.Keys).Where(k => !Unchecked.Contains(k)).Order(StringComparer.Ordinal)
            .Where(k =>
            {
                saved.TryGetValue(k, out var a);
                now.TryGetValue(k, out var b);
                return a != b && !(DataOptions.ValueOptions.Contains(k) && (a is null || b is null));
            })
            .Select(k => $"--{k} {Show(saved.GetValueOrDefault(k))} in the checkpoint but {Show(now.GetValueOrDefault(k))} now")];
    }

    private static List<string> LegacyDifferences(CommandLine cl, string json)
    {
        var saved = JsonSerializer.Deserialize(json, OptionValuesJson.Default.DictionaryStringString) ?? [];
        var now = cl.Options.Where(o => !Unchecked.Contains(o.Key)).ToDictionary(o => o.Key, o => o.Value);
        return [.. saved.Keys.Union(now.Keys).Where(k => !Unchecked.Contains(k)).Order(StringComparer.Ordinal)
            .Where(k => !(saved.TryGetValue(k, out var a) & now.TryGetValue(k, out var b)) || a != b)
            .Select(k => $"--{k} {(saved.TryGetValue(k, out var a) ? Show(a ?? "given") : "not given")} in the checkpoint but {(now.TryGetValue(k, out var b) ? Show(b ?? "given") : "not given")} now")];
    }

    private static string Show(string? value) => value is null or "not given" ? "not given" : value == "given" ? "given" : $"'{value}'";

    /// <summary>SHA-256 of a text run's training and validation token ids (after tokenization and the split).</summary>
    public static string Hash(ReadOnlySpan<int> train, ReadOnlySpan<int> validation)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(MemoryMarshal.AsBytes(train));
        sha.AppendData(MemoryMarshal.AsBytes(validation));
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>SHA-256 of the training and validation rows as fed to the model (after split and standardization).</summary>
    public static string Hash(Dataset train, Dataset? validation)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in new[] { train.Features, train.Targets, validation?.Features, validation?.Targets })
            if (t is not null) sha.AppendData(MemoryMarshal.AsBytes(t.AsSpan()));
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
