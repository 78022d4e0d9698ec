using System.Diagnostics;
using System.Globalization;

namespace Backprop.IO;

/// <summary>
/// The temporary files of Backprop's atomic writes: <c>FOLDER/NAME</c> is written as <c>FOLDER/.NAME.PID.tmp</c>
/// and then renamed over <c>FOLDER/NAME</c>. A process killed mid-write (kill -9, power loss) leaves that temporary
/// file behind; <see cref="RemoveStale"/> deletes such leftovers before the next write to the same name.
/// </summary>
public static class TempFiles
{
    /// <summary>The temporary file this process writes <paramref name="path"/> through.</summary>
    public static string PathFor(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(full)!, NameFor(Path.GetFileName(full), Environment.ProcessId));
    }

    /// <summary>The temporary name of <paramref name="fileName"/> written by process <paramref name="processId"/>.</summary>
    public static string NameFor(string fileName, int processId) =>
        $".{fileName}.{processId.ToString(CultureInfo.InvariantCulture)}.tmp";

    /// <summary>
    /// Deletes the temporary files left beside <paramref name="path"/> by writes to it that never finished: files
    /// named exactly <c>.NAME.PID.tmp</c> (NAME being <paramref name="path"/>'s file name, PID digits only) whose
    /// process is no longer running. A file of a live process (another run writing the same name now) is kept, and
    /// no other name can match, so no file of the user's is ever touched. Returns the paths deleted.
    /// </summary>
    public static IReadOnlyList<string> RemoveStale(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        if (name.Length == 0 || !Directory.Exists(dir)) return [];
        var removed = new List<string>();
        string prefix = $".{name}.", suffix = ".tmp";
        IEnumerable<string> candidates;
        try { candidates = Directory.EnumerateFiles(dir, prefix + "*" + suffix, SearchOption.TopDirectoryOnly).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
        foreach (var candidate in candidates)
        {
            var file = Path.GetFileName(candidate);
            // The pattern's '*' also matches dots and is case-insensitive on some systems: check the exact shape.
            if (!file.StartsWith(prefix, StringComparison.Ordinal) || !file.EndsWith(suffix, StringComparison.Ordinal)) continue;
            var pidText = file[prefix.Length..^suffix.Length];
            if (pidText.Length is 0 or > 10 || !pidText.All(char.IsAsciiDigit)) continue;
            if (!int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || IsRunning(pid)) continue;
            try
            {
                File.Delete(candidate);
                removed.Add(candidate);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Not ours to fight over (another user's file, a read-only folder): the write itself reports real problems.
            }
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
