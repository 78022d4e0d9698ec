namespace Backprop.Playground;

/// <summary>A request the server refuses: the HTTP status and a one-line message saying what was expected and what arrived.</summary>
internal sealed class ApiException(int status, string message) : Exception(message)
{
    /// <summary>400 bad request, 404 unknown session, 413 too large, 429 too fast, 503 too many sessions.</summary>
    public int Status { get; } = status;
}
