using System.Net;
using System.Text.Json;
using Backprop.Explain;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Backprop.Playground;

/// <summary>
/// The playground's web server: one embedded page and a JSON API, on loopback unless told otherwise.
/// </summary>
/// <remarks>
/// API (every body and reply is JSON; every refusal is <c>{"error": "..."}</c> with a 4xx/5xx status):
/// <code>
/// POST   /api/sessions                 config (optional)  → 201 frame with the points
/// PUT    /api/sessions/{id}/config     config             → frame with the points (a fresh run)
/// POST   /api/sessions/{id}/train      {"steps": n}       → {"ran": k} + frame (k ≤ n under the steps/s cap)
/// POST   /api/sessions/{id}/reset                         → frame (new weights, same data)
/// GET    /api/sessions/{id}                               → frame
/// POST   /api/sessions/{id}/explain    {"apply": bool}    → step trace of the next batch (then the step, if apply)
/// POST   /api/sessions/{id}/data?task=auto|classes|regression   CSV text (k ≥ 2 features, label) → frame with the points
/// POST   /api/sessions/{id}/weight     {"layer", "from", "to", "value"} → frame (W[layer][from, to] set)
/// DELETE /api/sessions/{id}                               → 204
/// GET    /api/seed                                        → the seed-001 step trace (as backprop explain)
/// POST   /api/circuit                  {"expression", "values"} → gates, values, gradients, numerical slopes
/// GET    /api/sessions/{id}/events?steps=n  → text/event-stream: trains n steps per event, each event
///                                        "data: {"ran": k, "frame": ...}", at most 30 a second
/// </code>
/// While playing, the page listens to the event stream (server-sent events) and redraws from each event; the step
/// button and every setting are single requests. A session has one stream at a time: a newer one replaces an older.
/// </remarks>
public sealed class PlaygroundServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly Timer sweeper;

    private PlaygroundServer(WebApplication app, Timer sweeper, Uri url, SessionStore store)
    {
        this.app = app;
        this.sweeper = sweeper;
        Url = url;
        Store = store;
    }

    /// <summary>Where the page is served, e.g. <c>http://127.0.0.1:5080/</c>.</summary>
    public Uri Url { get; }

    internal SessionStore Store { get; }

    /// <summary>Starts listening on <paramref name="address"/> (default loopback) and <paramref name="port"/> (0: any free port).</summary>
    /// <exception cref="IOException">The port is taken.</exception>
    public static async Task<PlaygroundServer> StartAsync(int port = 0, PlaygroundLimits? limits = null, IPAddress? address = null,
        CancellationToken cancellationToken = default)
    {
        limits ??= new PlaygroundLimits();
        address ??= IPAddress.Loopback;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, port);
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = limits.MaxBodyBytes;
        });
        var app = builder.Build();
        var store = new SessionStore(limits);
        Routes.Map(app, store, limits);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var url = new Uri(bound.EndsWith('/') ? bound : bound + "/");
        var sweeper = new Timer(_ => store.Sweep(), null, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
        return new PlaygroundServer(app, sweeper, url, store);
    }

    /// <summary>Completes when <paramref name="cancellationToken"/> fires, after the server has stopped.</summary>
    public async Task RunUntilAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await sweeper.DisposeAsync().ConfigureAwait(false);
        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The routes; handlers are plain request delegates (no reflection-based binding) over JsonDocument.</summary>
    private static class Routes
    {
        // The replies are JSON read by script, never inlined into HTML, so "+" and "×" may stay as they are.
        private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        public static void Map(WebApplication app, SessionStore store, PlaygroundLimits limits)
        {
            Page(app, "/", "index.html", "text/html; charset=utf-8");
            Page(app, "/app.js", "app.js", "text/javascript; charset=utf-8");
            Page(app, "/app.css", "app.css", "text/css; charset=utf-8");

            Api(app, limits, "POST", "/api/sessions", async ctx =>
            {
                var body = await ReadJson(ctx, limits, allowEmpty: true);
                var config = body is { } b ? PlaygroundConfig.Parse(b.RootElement, limits) : new PlaygroundConfig();
                var session = store.Create(config);
                return (201, w => session.WriteFrame(w, withData: true));
            });
            Api(app, limits, "GET", "/api/sessions/{id}", ctx => Task.FromResult(Frame(store.Get(Id(ctx)), withData: true)));
            Api(app, limits, "PUT", "/api/sessions/{id}/config", async ctx =>
            {
                var session = store.Get(Id(ctx));
                using var body = await ReadJson(ctx, limits, allowEmpty: false);
                session.Configure(PlaygroundConfig.Parse(body!.RootElement, limits));
                return Frame(session, withData: true);
            });
            Api(app, limits, "POST", "/api/sessions/{id}/train", async ctx =>
            {
                var session = store.Get(Id(ctx));
                using var body = await ReadJson(ctx, limits, allowEmpty: true);
                int steps = 1;
                if (body is { } b)
                {
                    if (b.RootElement.ValueKind != JsonValueKind.Object)
                        throw new ApiException(400, "expected {\"steps\": n}");
                    if (b.RootElement.TryGetProperty("steps", out var s)
                        && !(s.ValueKind == JsonValueKind.Number && s.TryGetInt32(out steps) && steps >= 1 && steps <= limits.MaxStepsPerRequest))
                        throw new ApiException(limits.MaxStepsPerRequest < (s.ValueKind == JsonValueKind.Number && s.TryGetDouble(out double d) ? d : 0) ? 413 : 400,
                            $"steps must be a whole number from 1 to {limits.MaxStepsPerRequest} but got {s.GetRawText()}");
                }
                int ran = session.Train(steps);
                return (200, w =>
                {
                    // The frame is an object; "ran" goes first by writing the frame's fields after it.
                    w.WriteStartObject();
                    w.WriteNumber("ran", ran);
                    w.WritePropertyName("frame");
                    session.WriteFrame(w, withData: false);
                    w.WriteEndObject();
                });
            });
            Api(app, limits, "POST", "/api/sessions/{id}/reset", ctx =>
            {
                var session = store.Get(Id(ctx));
                session.Reset();
                return Task.FromResult(Frame(session, withData: false));
            });
            Api(app, limits, "POST", "/api/sessions/{id}/explain", async ctx =>
            {
                var session = store.Get(Id(ctx));
                using var body = await ReadJson(ctx, limits, allowEmpty: true);
                bool apply = body is { } b && b.RootElement.ValueKind == JsonValueKind.Object
                    && b.RootElement.TryGetProperty("apply", out var a) && a.ValueKind == JsonValueKind.True;
                var trace = session.Explain(apply);
                return (200, w => TraceJson.Write(w, trace));
            });
            Api(app, limits, "POST", "/api/sessions/{id}/data", async ctx =>
            {
                var session = store.Get(Id(ctx));
                string task = ctx.Request.Query.TryGetValue("task", out var t) ? t.ToString() : "auto";
                if (!CsvData.Tasks.Contains(task))
                    throw new ApiException(400, $"task must be one of {string.Join(", ", CsvData.Tasks)} but got \"{(task.Length > 40 ? task[..40] + "…" : task)}\"");
                string text = await ReadText(ctx, limits.MaxCsvBytes);
                if (text.Trim().Length == 0) throw new ApiException(400, "expected a CSV body (2 or more numeric features and a label per line) but the request had none");
                session.Upload(CsvData.Parse(text, task, limits.MaxPoints));
                return Frame(session, withData: true);
            });
            Api(app, limits, "POST", "/api/sessions/{id}/weight", async ctx =>
            {
                var session = store.Get(Id(ctx));
                using var body = await ReadJson(ctx, limits, allowEmpty: false);
                var root = body!.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    throw new ApiException(400, "expected {\"layer\": l, \"from\": i, \"to\": j, \"value\": w}");
                int Index(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n)
                    ? n : throw new ApiException(400, $"{name} must be a whole number (expected {{\"layer\": l, \"from\": i, \"to\": j, \"value\": w}})");
                float value = root.TryGetProperty("value", out var wv) && wv.ValueKind == JsonValueKind.Number && wv.TryGetDouble(out double dv) ? (float)dv
                    : throw new ApiException(400, "value must be a number (expected {\"layer\": l, \"from\": i, \"to\": j, \"value\": w})");
                session.SetWeight(Index("layer"), Index("from"), Index("to"), value);
                return Frame(session, withData: false);
            });
            app.MapGet("/api/sessions/{id}/events", (RequestDelegate)(ctx => Events(ctx, store, limits)));
            Api(app, limits, "DELETE", "/api/sessions/{id}", ctx =>
            {
                string id = Id(ctx);
                if (!store.Remove(id)) store.Get(id);   // throws the 404
                return Task.FromResult<(int, Action<Utf8JsonWriter>)>((204, _ => { }));
            });
            Api(app, limits, "GET", "/api/seed", _ =>
                Task.FromResult<(int, Action<Utf8JsonWriter>)>((200, w => TraceJson.Write(w, SeedExample.Trace()))));
            Api(app, limits, "POST", "/api/circuit", async ctx =>
            {
                using var body = await ReadJson(ctx, limits, allowEmpty: false);
                var root = body!.RootElement.Clone();
                return (200, w => Circuit.Write(w, root));
            });
            app.MapFallback((RequestDelegate)(ctx => WriteError(ctx, 404,
                $"no such page or API route: {ctx.Request.Method} {ctx.Request.Path}")));
        }

        /// <summary>Most events a second one stream sends, so the page is never far behind the session.</summary>
        private const int FramesPerSecond = 30;

        /// <summary>
        /// Trains the session while the page listens, sending a frame per event until the client goes away or the
        /// session ends (then one <c>event: error</c> with the usual <c>{"error", "status"}</c>).
        /// </summary>
        private static async Task Events(HttpContext ctx, SessionStore store, PlaygroundLimits limits)
        {
            Session session;
            int steps = 25;
            try
            {
                session = store.Get(Id(ctx));
                if (ctx.Request.Query.TryGetValue("steps", out var s)
                    && !(int.TryParse(s.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out steps) && steps >= 1 && steps <= limits.MaxStepsPerRequest))
                    throw new ApiException(400, $"steps must be a whole number from 1 to {limits.MaxStepsPerRequest} but got \"{(s.ToString().Length > 20 ? s.ToString()[..20] + "…" : s.ToString())}\"");
            }
            catch (ApiException e)
            {
                await WriteError(ctx, e.Status, e.Message);
                return;
            }
            int ticket = session.OpenStream();
            try
            {
                ctx.Response.ContentType = "text/event-stream";
                ctx.Response.Headers.CacheControl = "no-store";
                // Ends when the page goes away or the server stops (a stream must not hold up the shutdown).
                var stopping = ctx.RequestServices.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping;
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
                var abort = linked.Token;
                long interval = 1000 / FramesPerSecond, last = 0;
                while (!abort.IsCancellationRequested && session.IsCurrentStream(ticket))
                {
                    long wait = last + interval - Environment.TickCount64;
                    if (wait > 0) await Task.Delay((int)wait, abort);
                    last = Environment.TickCount64;
                    using var buffer = new MemoryStream();
                    buffer.Write("data: "u8);
                    try
                    {
                        session = store.Get(session.Id);   // marks it used; throws once it has expired or been deleted
                        int ran = session.Train(steps);
                        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
                        {
                            w.WriteStartObject();
                            w.WriteNumber("ran", ran);
                            w.WritePropertyName("frame");
                            session.WriteFrame(w, withData: false);
                            w.WriteEndObject();
                        }
                        buffer.Write("\n\n"u8);
                        await ctx.Response.Body.WriteAsync(buffer.ToArray(), abort);
                        await ctx.Response.Body.FlushAsync(abort);
                    }
                    catch (ApiException e)
                    {
                        using var error = new MemoryStream();
                        error.Write("event: error\ndata: "u8);
                        using (var w = new Utf8JsonWriter(error, WriterOptions))
                        {
                            w.WriteStartObject();
                            w.WriteString("error", e.Message);
                            w.WriteNumber("status", e.Status);
                            w.WriteEndObject();
                        }
                        error.Write("\n\n"u8);
                        await ctx.Response.Body.WriteAsync(error.ToArray(), abort);
                        return;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // The page closed the stream (pause, or the tab is gone).
            }
        }

        private static (int, Action<Utf8JsonWriter>) Frame(Session session, bool withData) =>
            (200, w => session.WriteFrame(w, withData));

        private static string Id(HttpContext ctx) => (string)ctx.Request.RouteValues["id"]!;

        private static void Page(WebApplication app, string path, string resource, string contentType)
        {
            app.MapGet(path, (RequestDelegate)(async ctx =>
            {
                await using var stream = typeof(PlaygroundServer).Assembly.GetManifestResourceStream("wwwroot/" + resource)
                    ?? throw new InvalidOperationException($"the page resource {resource} is missing from the assembly");
                ctx.Response.ContentType = contentType;
                ctx.Response.Headers.CacheControl = "no-cache";
                await stream.CopyToAsync(ctx.Response.Body);
            }));
        }

        /// <summary>
        /// Maps a JSON endpoint. The handler returns a status and a writer; the reply is built in memory first so a
        /// failure halfway never sends half a document. Refusals become <c>{"error"}</c> replies and the server goes on.
        /// </summary>
        private static void Api(WebApplication app, PlaygroundLimits limits, string method, string pattern, Func<HttpContext, Task<(int Status, Action<Utf8JsonWriter> Write)>> handler)
        {
            app.MapMethods(pattern, [method], (RequestDelegate)(async ctx =>
            {
                int status;
                byte[] bytes;
                try
                {
                    var (s, write) = await handler(ctx);
                    status = s;
                    using var buffer = new MemoryStream();
                    if (status != 204)
                    {
                        using var w = new Utf8JsonWriter(buffer, WriterOptions);
                        write(w);
                    }
                    bytes = buffer.ToArray();
                }
                catch (ApiException e)
                {
                    await WriteError(ctx, e.Status, e.Message);
                    return;
                }
                catch (BadHttpRequestException e)
                {
                    await WriteError(ctx, e.StatusCode, e.StatusCode == 413
                        ? $"the request body is larger than the playground accepts ({limits.MaxBodyBytes} bytes)"
                        : "bad request: " + e.Message);
                    return;
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or ArithmeticException)
                {
                    await WriteError(ctx, 400, e.Message);
                    return;
                }
                ctx.Response.StatusCode = status;
                if (status == 204) return;
                ctx.Response.ContentType = "application/json; charset=utf-8";
                ctx.Response.Headers.CacheControl = "no-store";
                await ctx.Response.Body.WriteAsync(bytes);
            }));
        }

        private static async Task WriteError(HttpContext ctx, int status, string message)
        {
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json; charset=utf-8";
            // A body refused for its size is left unread: close the connection rather than drain it, so the reply
            // arrives whole and the client's next request goes on a fresh connection.
            if (status == 413) ctx.Response.Headers.Connection = "close";
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, WriterOptions))
            {
                w.WriteStartObject();
                w.WriteString("error", message);
                w.WriteNumber("status", status);
                w.WriteEndObject();
            }
            await ctx.Response.Body.WriteAsync(buffer.ToArray());
        }

        /// <summary>The body as UTF-8 text of at most <paramref name="maxBytes"/> bytes (a limit above the JSON one).</summary>
        /// <exception cref="ApiException">413 for a longer body, 400 for bytes that are not UTF-8.</exception>
        private static async Task<string> ReadText(HttpContext ctx, int maxBytes)
        {
            if (ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
                size.MaxRequestBodySize = maxBytes;
            if (ctx.Request.ContentLength > maxBytes)
                throw new ApiException(413, $"the CSV may be at most {maxBytes} bytes but is {ctx.Request.ContentLength}");
            using var buffer = new MemoryStream();
            var chunk = new byte[8192];
            int read;
            while ((read = await ctx.Request.Body.ReadAsync(chunk)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > maxBytes)
                    throw new ApiException(413, $"the CSV may be at most {maxBytes} bytes but is longer");
            }
            try
            {
                return new System.Text.UTF8Encoding(false, true).GetString(buffer.ToArray());
            }
            catch (System.Text.DecoderFallbackException)
            {
                throw new ApiException(400, "the CSV is not UTF-8 text");
            }
        }

        /// <summary>The body as JSON; null when it is empty and that is allowed.</summary>
        /// <exception cref="ApiException">400 for text that is not JSON, 413 for a body over the limit.</exception>
        private static async Task<JsonDocument?> ReadJson(HttpContext ctx, PlaygroundLimits limits, bool allowEmpty)
        {
            if (ctx.Request.ContentLength > limits.MaxBodyBytes)
                throw new ApiException(413, $"the request body may be at most {limits.MaxBodyBytes} bytes but is {ctx.Request.ContentLength}");
            using var buffer = new MemoryStream();
            var chunk = new byte[8192];
            int read;
            while ((read = await ctx.Request.Body.ReadAsync(chunk)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > limits.MaxBodyBytes)
                    throw new ApiException(413, $"the request body may be at most {limits.MaxBodyBytes} bytes but is longer");
            }
            if (buffer.Length == 0)
            {
                if (allowEmpty) return null;
                throw new ApiException(400, "expected a JSON body but the request had none");
            }
            try
            {
                return JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
            }
            catch (JsonException e)
            {
                throw new ApiException(400, $"the request body is not valid JSON: the text breaks off or goes wrong at line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}");
            }
        }
    }
}
