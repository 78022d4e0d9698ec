using System.Diagnostics;
using System.Globalization;
using Backprop.Training;

namespace Backprop.Cli;

/// <summary>
/// One progress line per epoch on a terminal, redrawn in place (carriage return) at most ten times a second and
/// replaced by the epoch's summary line when the epoch ends. Used only when stdout is a terminal; redirected output
/// and <c>--json</c> get the plain epoch lines alone.
/// </summary>
internal sealed class ProgressBar(TextWriter output)
{
    private const long MinRedrawMilliseconds = 100;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private long lastDraw = -MinRedrawMilliseconds;
    private int drawnLength;

    /// <summary>Redraws the line for <paramref name="p"/> unless the last redraw was under 100 ms ago.</summary>
    public void Update(BatchProgress p)
    {
        long now = clock.ElapsedMilliseconds;
        if (now - lastDraw < MinRedrawMilliseconds) return;
        lastDraw = now;
        Draw(Format(p));
    }

    /// <summary>Replaces the bar by <paramref name="line"/> and ends it, or (null) just erases the bar.</summary>
    public void Finish(string? line)
    {
        if (line is null)
        {
            if (drawnLength > 0) output.Write("\r" + new string(' ', drawnLength) + "\r");
        }
        else output.WriteLine("\r" + line.PadRight(drawnLength));
        output.Flush();
        drawnLength = 0;
        lastDraw = -MinRedrawMilliseconds;
    }

    private void Draw(string line)
    {
        output.Write("\r" + line.PadRight(drawnLength));
        output.Flush();
        drawnLength = line.Length;
    }

    /// <summary>
    /// The bar's text, e.g. <c>epoch 3/10 [██████░░░░]  61%  36,608/60,000  loss 0.4123  52,100 samples/s  ETA 0:04</c>:
    /// the bar and percentage are rounded down, the ETA is the epoch's remaining samples at the current speed.
    /// </summary>
    public static string Format(BatchProgress p, int width = 10)
    {
        double fraction = p.Total > 0 ? Math.Clamp((double)p.Seen / p.Total, 0, 1) : 0;
        int filled = (int)(fraction * width);
        string epochs = p.Epochs.ToString(CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"epoch {p.Epoch.ToString(CultureInfo.InvariantCulture).PadLeft(epochs.Length)}/{epochs} " +
            $"[{new string('█', filled)}{new string('░', width - filled)}] {(int)(fraction * 100),3}%  " +
            $"{p.Seen:N0}/{p.Total:N0}  loss {p.Loss:0.0000}  {p.SamplesPerSecond:N0} samples/s  ETA {FormatEta(p.SecondsRemaining)}");
    }

    /// <summary>m:ss, or h:mm:ss from an hour on; <c>--:--</c> when the speed is not known yet.</summary>
    public static string FormatEta(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0) return "--:--";
        var t = TimeSpan.FromSeconds(Math.Ceiling(seconds));
        return t.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}:{t.Seconds:00}");
    }
}
