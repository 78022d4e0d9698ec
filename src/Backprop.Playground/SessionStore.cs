using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Backprop.Playground;

/// <summary>The live sessions, at most <see cref="PlaygroundLimits.MaxSessions"/>, each dropped after its idle timeout.</summary>
internal sealed class SessionStore(PlaygroundLimits limits)
{
    private readonly ConcurrentDictionary<string, Session> sessions = new(StringComparer.Ordinal);
    private readonly Lock createGate = new();

    public int Count => sessions.Count;

    /// <summary>A new session under a random id.</summary>
    /// <exception cref="ApiException">503 when <see cref="PlaygroundLimits.MaxSessions"/> sessions are alive.</exception>
    public Session Create(PlaygroundConfig config)
    {
        lock (createGate)
        {
            Sweep();
            if (sessions.Count >= limits.MaxSessions)
                throw new ApiException(503, $"the playground already serves {sessions.Count} sessions, its limit; close a tab or wait {limits.IdleTimeout.TotalMinutes:0} minutes for an idle one to expire");
            // 16 random bytes: ids cannot be guessed, so one tab cannot drive another's session.
            string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var session = new Session(id, config, limits);
            sessions[id] = session;
            return session;
        }
    }

    /// <summary>The session called <paramref name="id"/>, marked as used now.</summary>
    /// <exception cref="ApiException">404 when there is no such session (never created, deleted, or expired).</exception>
    public Session Get(string id)
    {
        if (!sessions.TryGetValue(id, out var session))
            throw new ApiException(404, $"no session '{(id.Length > 40 ? id[..40] + "…" : id)}': it never existed or expired after {limits.IdleTimeout.TotalMinutes:0} idle minutes; create one with POST /api/sessions");
        session.Touch();
        return session;
    }

    public bool Remove(string id) => sessions.TryRemove(id, out _);

    /// <summary>Drops the sessions idle for longer than the timeout.</summary>
    public void Sweep()
    {
        long now = Environment.TickCount64;
        foreach (var (id, s) in sessions)
            if (now - s.LastUsed > limits.IdleTimeout.TotalMilliseconds) sessions.TryRemove(id, out _);
    }
}
