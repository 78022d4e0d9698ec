using System.Text.Json;

namespace Backprop.Playground.Tests;

/// <summary>The event stream the page listens to while playing (server-sent events).</summary>
public sealed class EventStreamTests(ServerFixture fixture) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly HttpClient http = fixture.Http;

    // Streams go through a client that closes a connection whose reply is left unread, as a browser's
    // EventSource.close() does, instead of draining it for reuse.
    private readonly HttpClient streams = new(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = fixture.Server.Url };

    public void Dispose() => streams.Dispose();

    /// <summary>Reads the next event of a stream: its type (message unless named) and its data.</summary>
    private static async Task<(string Type, JsonElement Data)> Next(StreamReader reader)
    {
        string type = "message", data = "";
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0 && data.Length > 0) return (type, JsonDocument.Parse(data).RootElement.Clone());
            if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data += line[6..];
        }
        throw new EndOfStreamException("the stream ended without another event");
    }

    private async Task<(HttpResponseMessage Response, StreamReader Reader)> Open(string path)
    {
        var response = await streams.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        return (response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    [Fact]
    public async Task Each_event_trains_the_asked_steps_and_carries_the_frame()
    {
        string id = (await Api.Ok(http, "POST", "/api/sessions", """{"dataset": "spiral"}""")).GetProperty("id").GetString()!;
        var (response, reader) = await Open($"/api/sessions/{id}/events?steps=7");
        using (response)
        using (reader)
        {
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
            for (int k = 1; k <= 3; k++)
            {
                var (type, data) = await Next(reader);
                Assert.Equal("message", type);
                Assert.Equal(7, data.GetProperty("ran").GetInt32());
                Assert.Equal(7 * k, data.GetProperty("frame").GetProperty("step").GetInt64());
                Assert.Equal(id, data.GetProperty("frame").GetProperty("id").GetString());
            }
        }
        // Closing the stream stops the training: the count stays where it is.
        await Task.Delay(500);
        long after = (await Api.Ok(http, "GET", $"/api/sessions/{id}")).GetProperty("step").GetInt64();
        await Task.Delay(500);
        Assert.Equal(after, (await Api.Ok(http, "GET", $"/api/sessions/{id}")).GetProperty("step").GetInt64());
    }

    [Fact]
    public async Task A_newer_stream_replaces_the_older_and_a_deleted_session_ends_its_stream_with_an_error_event()
    {
        string id = (await Api.Ok(http, "POST", "/api/sessions")).GetProperty("id").GetString()!;
        var (first, firstReader) = await Open($"/api/sessions/{id}/events?steps=1");
        await Next(firstReader);
        var (second, secondReader) = await Open($"/api/sessions/{id}/events?steps=1");
        await Next(secondReader);
        // The first stream ends at its next event; the second goes on.
        await Assert.ThrowsAsync<EndOfStreamException>(async () => { for (int i = 0; i < 100; i++) await Next(firstReader); });
        await Next(secondReader);
        Assert.Equal(204, (await Api.Send(http, "DELETE", $"/api/sessions/{id}")).Status);
        (string type, JsonElement data) = ("message", default);
        for (int i = 0; i < 100 && type == "message"; i++) (type, data) = await Next(secondReader);
        Assert.Equal("error", type);
        Assert.Equal(404, data.GetProperty("status").GetInt32());
        Assert.StartsWith($"no session '{id}'", data.GetProperty("error").GetString());
        first.Dispose(); firstReader.Dispose(); second.Dispose(); secondReader.Dispose();
    }

    [Theory]
    [InlineData("/api/sessions/nope/events", 404, "no session 'nope'")]
    [InlineData("/api/sessions/{id}/events?steps=0", 400, "steps must be a whole number from 1 to 1000 but got \"0\"")]
    [InlineData("/api/sessions/{id}/events?steps=lots", 400, "steps must be a whole number from 1 to 1000 but got \"lots\"")]
    public async Task A_stream_that_cannot_start_is_a_JSON_error(string path, int status, string message)
    {
        string id = (await Api.Ok(http, "POST", "/api/sessions")).GetProperty("id").GetString()!;
        var (got, reply) = await Api.Send(http, "GET", path.Replace("{id}", id, StringComparison.Ordinal));
        Assert.Equal(status, got);
        Assert.StartsWith(message, reply.GetProperty("error").GetString());
    }
}
