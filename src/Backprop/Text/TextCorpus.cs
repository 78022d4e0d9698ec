using System.Text;

namespace Backprop.Text;

/// <summary>Reads the text a language model trains on: one file, or every file of a folder (and its subfolders).</summary>
public static class TextCorpus
{
    /// <summary>
    /// The text of <paramref name="path"/>: a file's contents, or a folder's files joined in ordinal path order (so the
    /// same folder always gives the same text). Files are read as UTF-8; invalid bytes become U+FFFD. In a folder,
    /// files ending in <c>.dat</c> (strfile's binary indexes beside fortune files) and <c>.u8</c> (fortune's links to
    /// the same text) are skipped.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing is at <paramref name="path"/> (the message says how to install the
    /// Debian text packages when the path is theirs).</exception>
    /// <exception cref="Data.DataFormatException">The file or folder holds no text.</exception>
    public static string Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string text;
        if (Directory.Exists(path))
        {
            var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Where(f => !f.EndsWith(".dat", StringComparison.Ordinal) && !f.EndsWith(".u8", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).ToList();
            var all = new StringBuilder();
            foreach (var f in files) all.Append(ReadFile(f));
            text = all.ToString();
            if (text.Length == 0)
                throw new Data.DataFormatException($"the folder '{path}' holds no text ({files.Count} file(s), all empty); give a file or folder of text.", path);
        }
        else if (File.Exists(path))
        {
            text = ReadFile(path);
            if (text.Length == 0) throw new Data.DataFormatException($"the text file '{path}' is empty; give a file with some text in it.", path);
        }
        else throw new FileNotFoundException(Missing(path), path);
        return text;
    }

    /// <summary>A message for a missing path, with the apt-get line for the Debian packages of example text.</summary>
    internal static string Missing(string path)
    {
        string full = Path.GetFullPath(path);
        string? package = full.StartsWith("/usr/share/games/fortunes", StringComparison.Ordinal) ? "fortunes"
            : full.StartsWith("/usr/share/dict", StringComparison.Ordinal) ? "wamerican" : null;
        return package is null
            ? $"no text file or folder at '{path}'."
            : $"no text at '{path}': it comes with Debian's '{package}' package; install it with 'apt-get install -y {package}'.";
    }

    // Fortune files use "%" lines between fortunes; they are kept, as nanoGPT-style character models learn them too.
    private static string ReadFile(string path) => File.ReadAllText(path, Encoding.UTF8).Replace("\r\n", "\n", StringComparison.Ordinal);
}
