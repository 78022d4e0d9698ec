using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Backprop.Playground.Tests;

/// <summary>One in-process playground server on a free loopback port, shared by a test class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    internal PlaygroundServer Server { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Every test of the class creates sessions on this one server; the cap is raised so that they all fit.
        Server = await PlaygroundServer.StartAsync(0, new PlaygroundLimits { MaxSessions = 500 });
        Http = new HttpClient { BaseAddress = Server.Url, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>JSON requests and replies.</summary>
internal static class Api
{
    public static async Task<(int Status, JsonElement Body)> Send(HttpClient http, string method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return ((int)response.StatusCode, body);
    }

    public static async Task<JsonElement> Ok(HttpClient http, string method, string path, string? json = null)
    {
        var (status, body) = await Send(http, method, path, json);
        Assert.True(status is 200 or 201, $"{method} {path} answered {status}: {body}");
        return body;
    }

    /// <summary>Makes a session of <paramref name="config"/> and returns its id.</summary>
    public static async Task<string> NewSession(HttpClient http, string config = "{}") =>
        (await Ok(http, "POST", "/api/sessions", config)).GetProperty("id").GetString()!;

    /// <summary>Posts a CSV as the session's data (<paramref name="query"/>: e.g. <c>?task=regression</c>).</summary>
    public static async Task<(int Status, JsonElement Body)> Upload(HttpClient http, string id, string csv, string query = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/sessions/{id}/data{query}");
        request.Content = new StringContent(csv, Encoding.UTF8);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        using var response = await http.SendAsync(request);
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    /// <summary>Trains <paramref name="requests"/> times <paramref name="steps"/> steps; the last frame.</summary>
    public static async Task<JsonElement> Train(HttpClient http, string id, int requests, int steps = 100)
    {
        JsonElement frame = default;
        for (int i = 0; i < requests; i++) frame = (await Ok(http, "POST", $"/api/sessions/{id}/train", $$"""{"steps": {{steps}}}""")).GetProperty("frame");
        return frame;
    }

    /// <summary>A matrix of a JSON reply as a row-major float array and its shape.</summary>
    public static (float[] Values, int Rows, int Cols) Matrix(JsonElement rows)
    {
        int r = rows.GetArrayLength(), c = rows[0].GetArrayLength();
        var values = new float[r * c];
        int i = 0;
        foreach (var row in rows.EnumerateArray())
            foreach (var v in row.EnumerateArray()) values[i++] = v.GetSingle();
        return (values, r, c);
    }

    public static Tensor Tensor(JsonElement rows)
    {
        var (values, r, c) = Matrix(rows);
        return Backprop.Tensor.FromArray(values, r, c);
    }

    public static JsonElement Entry(JsonElement trace, string name) =>
        trace.GetProperty("entries").EnumerateArray().First(e => e.GetProperty("name").GetString() == name);
}
