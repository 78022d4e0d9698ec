using System.Text;

namespace Backprop.Data;

/// <summary>One CSV record: its fields and the 1-based line it starts on.</summary>
internal readonly record struct CsvRecord(string[] Fields, int Line);

/// <summary>
/// Splits RFC 4180 text into records. Fields are separated by commas and records by LF, CRLF or CR. A field whose
/// first non-blank character is <c>"</c> is quoted: it may hold commas, line breaks and doubled quotes (<c>""</c>
/// reads as <c>"</c>), and is kept exactly. Unquoted fields are trimmed of spaces and tabs. Blank lines are skipped
/// wherever they occur, which covers the trailing ones editors leave.
/// </summary>
internal sealed class CsvReader(TextReader reader, string source)
{
    private readonly StringBuilder field = new();
    private int line = 1;

    /// <summary>The next non-blank record, or null at the end of the text.</summary>
    public CsvRecord? Next()
    {
        while (reader.Peek() != -1)
        {
            int start = line;
            var fields = new List<string>();
            bool anyQuoted = false;
            int end;
            do
            {
                end = ReadField(out bool quoted);
                anyQuoted |= quoted;
                fields.Add(field.ToString());
            }
            while (end == ',');
            if (end == '\r' && reader.Peek() == '\n') reader.Read();
            if (end != -1) line++;
            if (fields.Count == 1 && !anyQuoted && fields[0].Length == 0) continue;
            return new CsvRecord([.. fields], start);
        }
        return null;
    }

    // Reads one field into `field` and returns the character that ended it: ',', '\n', '\r' or -1 (end of text).
    private int ReadField(out bool quoted)
    {
        field.Clear();
        int c = reader.Read();
        while (c is ' ' or '\t') c = reader.Read();
        quoted = c == '"';
        if (!quoted)
        {
            while (c is not (',' or '\n' or '\r' or -1))
            {
                field.Append((char)c);
                c = reader.Read();
            }
            int keep = field.Length;
            while (keep > 0 && field[keep - 1] is ' ' or '\t') keep--;
            field.Length = keep;
            return c;
        }

        int openedOn = line;
        while (true)
        {
            c = reader.Read();
            if (c == -1)
                throw new DataFormatException($"{source} line {openedOn}: a quoted field is not closed (missing '\"').", source, openedOn);
            if (c == '"')
            {
                if (reader.Peek() != '"') break;
                reader.Read();
            }
            else if (c == '\n' || (c == '\r' && reader.Peek() != '\n')) line++;
            field.Append((char)c);
        }
        c = reader.Read();
        while (c is ' ' or '\t') c = reader.Read();
        if (c is not (',' or '\n' or '\r' or -1))
            throw new DataFormatException(
                $"{source} line {line}: unexpected '{(char)c}' after the closing quote of a field; expected ',' or the end of the line.",
                source, line);
        return c;
    }
}
