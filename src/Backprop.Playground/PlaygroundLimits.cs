namespace Backprop.Playground;

/// <summary>What one client may use, so that no page can exhaust the machine.</summary>
public sealed record PlaygroundLimits
{
    /// <summary>Sessions alive at once (one per browser tab); a new one beyond this is refused with 503.</summary>
    public int MaxSessions { get; init; } = 32;

    /// <summary>A session unused this long is dropped.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Training steps one session may run per second (a token bucket holding one second's worth).</summary>
    public int MaxStepsPerSecond { get; init; } = 5000;

    /// <summary>Steps one train request may ask for.</summary>
    public int MaxStepsPerRequest { get; init; } = 1000;

    /// <summary>Hidden layers.</summary>
    public int MaxLayers { get; init; } = 8;

    /// <summary>Neurons per hidden layer.</summary>
    public int MaxNeurons { get; init; } = 32;

    /// <summary>Points in a dataset (train and test together).</summary>
    public int MaxPoints { get; init; } = 2000;

    /// <summary>Bytes of one request body.</summary>
    public int MaxBodyBytes { get; init; } = 64 * 1024;

    /// <summary>Bytes of an uploaded CSV (its rows are capped by <see cref="MaxPoints"/> too).</summary>
    public int MaxCsvBytes { get; init; } = 256 * 1024;
}
