using System.Globalization;
using System.Text;
using Backprop.IO;

namespace Backprop.Cli;

/// <summary>
/// Checks, before any work, that a command can write where it was told to: the place is a file where a file is
/// written and a folder where a folder is, every name fits the file system, the nearest existing folder takes a
/// new file, and the disk has room. Each failure is a <see cref="RefusedException"/> naming the option, the path
/// and the problem. Nothing is left behind: missing folders are not created here, and the write probe is deleted.
/// </summary>
internal static class OutputPaths
{
    // NAME_MAX on Linux and macOS (bytes), and NTFS's 255 UTF-16 units, which UTF-8 bytes never undercount.
    private const int MaxNameBytes = 255;

    /// <summary>A file written atomically (through <see cref="TempFiles"/>), e.g. <c>--save FILE</c>.</summary>
    public static void CheckFile(string option, string path, string exampleName = "model.safetensors")
    {
        if (string.IsNullOrWhiteSpace(path)) throw new RefusedException($"{option} needs a file name but got '{path}'.");
        var full = FullPath(option, path);
        if (Directory.Exists(full) || path.EndsWith('/') || path.EndsWith(Path.DirectorySeparatorChar))
            throw new RefusedException($"{option} {Show(path)} is a folder, but {option} names a file; give a file name such as {Show(Path.Combine(path, exampleName))}.");
        CheckWritable(option, path, Path.GetDirectoryName(full)!, Path.GetFileName(full));
    }

    /// <summary>A folder that files are written into, e.g. <c>--checkpoint DIR</c> (<paramref name="fileInside"/>: one of them).</summary>
    public static void CheckFolder(string option, string path, string fileInside)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new RefusedException($"{option} needs a folder name but got '{path}'.");
        var full = FullPath(option, path);
        if (File.Exists(full))
            throw new RefusedException($"{option} {Show(path)} is a file, but {option} names a folder (it writes {fileInside} into it); give a folder name.");
        if (Directory.Exists(Path.Combine(full, fileInside)))
            throw new RefusedException($"{option} {Show(path)}: {Show(Path.Combine(path, fileInside))} is a folder, so {fileInside} cannot be written there.");
        CheckWritable(option, path, full, fileInside);
    }

    /// <summary>A folder a file of a name not yet known will be written into (created if missing).</summary>
    public static void CheckWritableFolder(string option, string path) =>
        CheckWritable(option, path, FullPath(option, path), "model.safetensors");

    /// <summary>Refuses when the disk that will hold <paramref name="file"/> has less than <paramref name="bytes"/> free.</summary>
    public static void CheckRoom(string option, string file, long bytes, string what)
    {
        var existing = NearestExistingFolder(Path.GetDirectoryName(Path.GetFullPath(file))!);
        long free;
        try { free = new DriveInfo(existing).AvailableFreeSpace; }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException) { return; }   // unknown: the write will tell
        if (free < bytes)
            throw new RefusedException($"{option} {Show(file)}: the disk holding {Show(existing)} has {Size(free)} free, but {what} needs about {Size(bytes)}; free some space or write it elsewhere.");
    }

    /// <summary>Bytes a safetensors file of <paramref name="values"/> floats takes, with <paramref name="headerBytes"/> of JSON header.</summary>
    public static long SafeTensorsBytes(long values, long headerBytes) => 8 + headerBytes + values * sizeof(float);

    // The write goes to FOLDER/.NAME.PID.tmp, then is renamed to FOLDER/NAME; missing folders are created first.
    private static void CheckWritable(string option, string shown, string folder, string fileName)
    {
        var tempName = TempFiles.NameFor(fileName, Environment.ProcessId);
        int limit = MaxNameBytes - (Encoding.UTF8.GetByteCount(tempName) - Encoding.UTF8.GetByteCount(fileName));
        if (Encoding.UTF8.GetByteCount(fileName) > limit)
            throw new RefusedException($"{option} {Show(shown)}: the name '{Abbreviate(fileName)}' is {Encoding.UTF8.GetByteCount(fileName)} bytes long, but names can be at most {limit} bytes here (the file system's {MaxNameBytes}, less the temporary copy's '.' and '.{Environment.ProcessId}.tmp').");

        var existing = NearestExistingFolder(folder);
        for (var dir = folder; dir.Length > existing.Length; dir = Path.GetDirectoryName(dir)!)
        {
            var name = Path.GetFileName(dir);
            if (Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
                throw new RefusedException($"{option} {Show(shown)}: the folder name '{Abbreviate(name)}' is {Encoding.UTF8.GetByteCount(name)} bytes long, but names can be at most {MaxNameBytes} bytes.");
            if (File.Exists(dir))
                throw new RefusedException($"{option} {Show(shown)}: {Show(dir)} is a file, so the folder {Show(folder)} cannot be created.");
        }

        // Create (and at once delete) the temporary file the write will create, in the folder it will be in, or
        // in the nearest folder that exists when the rest is still to be created.
        var probe = Path.Combine(existing, tempName);
        if (File.Exists(probe)) return;
        try
        {
            using var _ = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (UnauthorizedAccessException)
        {
            throw new RefusedException($"{option} {Show(shown)}: cannot write into the folder {Show(existing)}: permission denied.");
        }
        catch (IOException e)
        {
            throw new RefusedException($"{option} {Show(shown)}: cannot write into the folder {Show(existing)}: {Reason(e)}.");
        }
    }

    private static string FullPath(string option, string path)
    {
        try { return Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new RefusedException($"{option} {Show(path)} is not a usable path: {e.Message}");
        }
    }

    private static string NearestExistingFolder(string folder)
    {
        var dir = folder;
        while (!Directory.Exists(dir) && Path.GetDirectoryName(dir) is { } parent) dir = parent;
        return dir;
    }

    // .NET's IOException on Unix carries the errno as its HResult.
    private static string Reason(IOException e) => e.HResult switch
    {
        30 => "the file system is read-only",
        28 => "the disk is full",
        122 => "the disk quota is used up",
        36 => "a name in the path is too long",
        _ => e.Message,
    };

    internal static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} bytes",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KB",
        < 1024L * 1024 * 1024 => (bytes / (1024.0 * 1024)).ToString("0.#", CultureInfo.InvariantCulture) + " MB",
        _ => (bytes / (1024.0 * 1024 * 1024)).ToString("0.##", CultureInfo.InvariantCulture) + " GB",
    };

    private static string Show(string path) => $"'{Abbreviate(path)}'";

    private static string Abbreviate(string s) => s.Length <= 80 ? s : $"{s[..36]}…{s[^36..]}";
}
