using System.Globalization;

namespace Backprop.Cli;

/// <summary>A wrong command line: printed as one line followed by the command's usage, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Parsed arguments of one command: <c>--name value</c>, <c>--name=value</c>, <c>--flag</c>, and positionals.
/// Each command states which options it takes; anything else is a usage error.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> options = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> used = new(StringComparer.Ordinal);
    private readonly IReadOnlyCollection<string> flagNames;

    public List<string> Positionals { get; } = [];

    /// <param name="args">The arguments after the command name.</param>
    /// <param name="valueOptions">Options that take a value.</param>
    /// <param name="flags">Options that take none.</param>
    public CommandLine(IEnumerable<string> args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> flags)
    {
        flagNames = flags;
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var arg = e.Current;
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg == "--")
            {
                Positionals.Add(arg);
                continue;
            }
            var name = arg[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) (name, value) = (name[..eq], name[(eq + 1)..]);
            if (flags.Contains(name))
            {
                if (value is not null) throw new UsageException($"option --{name} takes no value.");
            }
            else if (valueOptions.Contains(name))
            {
                if (value is null)
                {
                    if (!e.MoveNext()) throw new UsageException($"option --{name} needs a value.");
                    value = e.Current;
                }
            }
            else throw new UsageException($"unknown option '--{name}'.");
            if (options.ContainsKey(name)) throw new UsageException($"option --{name} is given twice.");
            options[name] = value;
        }
    }

    /// <summary>Every option given, by name; flags have a null value.</summary>
    public IReadOnlyDictionary<string, string?> Options => options;

    /// <summary>
    /// Every option the command has read, by name, with the value it used: a default where the option was not
    /// given, a number in one canonical spelling (<c>1e-2</c> and <c>0.01</c> are both <c>0.01</c>), a flag as
    /// <c>given</c> or <c>not given</c>, null for an option read without a default and not given.
    /// </summary>
    public IReadOnlyDictionary<string, string?> Used => used;

    public bool Has(string name)
    {
        bool given = options.ContainsKey(name);
        if (flagNames.Contains(name)) used[name] = given ? "given" : "not given";
        return given;
    }

    public string? String(string name)
    {
        var value = options.TryGetValue(name, out var v) ? v : null;
        used.TryAdd(name, value);
        return value;
    }

    public string String(string name, string fallback) => Use(name, String(name) ?? fallback);

    private T Use<T>(string name, T value) where T : notnull
    {
        used[name] = value switch
        {
            float f => f.ToString("R", CultureInfo.InvariantCulture),
            IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString(),
        };
        return value;
    }

    public int Int(string name, int fallback, int min = int.MinValue)
    {
        var s = String(name);
        if (s is null) return Use(name, fallback);
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            throw new UsageException($"--{name} expects a whole number but got '{s}'.");
        if (v < min) throw new UsageException($"--{name} must be at least {min} but got {v}.");
        return Use(name, v);
    }

    public float Float(string name, float fallback, float min = float.NegativeInfinity, float maxExclusive = float.PositiveInfinity)
    {
        var s = String(name);
        if (s is null) return Use(name, fallback);
        if (!float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !float.IsFinite(v))
            throw new UsageException($"--{name} expects a number but got '{s}'.");
        if (v < min || v >= maxExclusive)
            throw new UsageException(float.IsPositiveInfinity(maxExclusive)
                ? min == float.Epsilon ? $"--{name} must be above 0 but got {s}." : $"--{name} must be at least {min.ToString(CultureInfo.InvariantCulture)} but got {s}."
                : $"--{name} must be in [{min.ToString(CultureInfo.InvariantCulture)}, {maxExclusive.ToString(CultureInfo.InvariantCulture)}) but got {s}.");
        return Use(name, v);
    }
}
