namespace Backprop.Playground.Tests;

/// <summary>Servers with small limits: the session cap, the idle timeout and the steps-per-second budget.</summary>
public sealed class LimitTests
{
    [Fact]
    public async Task Sessions_beyond_the_cap_get_503_until_one_is_deleted()
    {
        await using var server = await PlaygroundServer.StartAsync(0, new PlaygroundLimits { MaxSessions = 3 });
        using var http = new HttpClient { BaseAddress = server.Url };
        var ids = new List<string>();
        for (int i = 0; i < 3; i++) ids.Add((await Api.Ok(http, "POST", "/api/sessions")).GetProperty("id").GetString()!);
        var (status, reply) = await Api.Send(http, "POST", "/api/sessions");
        Assert.Equal(503, status);
        Assert.StartsWith("the playground already serves 3 sessions, its limit", reply.GetProperty("error").GetString());
        Assert.Equal(204, (await Api.Send(http, "DELETE", $"/api/sessions/{ids[0]}")).Status);
        Assert.Equal(201, (await Api.Send(http, "POST", "/api/sessions")).Status);
        Assert.Equal(404, (await Api.Send(http, "GET", $"/api/sessions/{ids[0]}")).Status);
    }

    [Fact]
    public async Task An_idle_session_expires_and_then_answers_404()
    {
        await using var server = await PlaygroundServer.StartAsync(0, new PlaygroundLimits { IdleTimeout = TimeSpan.FromMilliseconds(50) });
        using var http = new HttpClient { BaseAddress = server.Url };
        string id = (await Api.Ok(http, "POST", "/api/sessions")).GetProperty("id").GetString()!;
        await Task.Delay(200);
        server.Store.Sweep();
        Assert.Equal(0, server.Store.Count);
        var (status, reply) = await Api.Send(http, "POST", $"/api/sessions/{id}/train");
        Assert.Equal(404, status);
        Assert.Contains("expired after", reply.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_session_runs_no_more_steps_than_its_budget_allows()
    {
        await using var server = await PlaygroundServer.StartAsync(0, new PlaygroundLimits { MaxStepsPerSecond = 50 });
        using var http = new HttpClient { BaseAddress = server.Url };
        string id = (await Api.Ok(http, "POST", "/api/sessions")).GetProperty("id").GetString()!;
        var first = await Api.Ok(http, "POST", $"/api/sessions/{id}/train", """{"steps": 1000}""");
        int ran = first.GetProperty("ran").GetInt32();
        Assert.InRange(ran, 50, 60);   // the full bucket (one second's worth) plus what refilled meanwhile
        Assert.Equal(ran, first.GetProperty("frame").GetProperty("step").GetInt64());
    }

    [Fact]
    public async Task The_server_listens_on_loopback_only_by_default()
    {
        await using var server = await PlaygroundServer.StartAsync(0);
        Assert.Equal("127.0.0.1", server.Url.Host);
    }
}
