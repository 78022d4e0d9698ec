using System.Text.Json;
using Backprop.Explain;

namespace Backprop.Playground.Tests;

public sealed class ApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly HttpClient http = fixture.Http;

    [Fact]
    public async Task A_new_session_has_the_default_network_its_points_and_heatmaps()
    {
        var (status, frame) = await Api.Send(http, "POST", "/api/sessions");
        Assert.Equal(201, status);
        var config = frame.GetProperty("config");
        Assert.Equal("circle", config.GetProperty("dataset").GetString());
        Assert.Equal(250, frame.GetProperty("train").GetArrayLength());
        Assert.Equal(250, frame.GetProperty("test").GetArrayLength());
        Assert.Equal(50 * 50, frame.GetProperty("output").GetArrayLength());
        // One heatmap per neuron: hidden layers 8, 8, 4, then the output neuron; 20×20 each.
        int[] widths = [.. frame.GetProperty("neurons").EnumerateArray().Select(l => l.GetArrayLength())];
        Assert.Equal([8, 8, 4, 1], widths);
        Assert.All(frame.GetProperty("neurons").EnumerateArray().SelectMany(l => l.EnumerateArray()), h => Assert.Equal(400, h.GetArrayLength()));
        // Weights [in, out] per layer: 4 features → 8 → 8 → 4 → 1.
        var shapes = frame.GetProperty("weights").EnumerateArray().Select(w => (w.GetArrayLength(), w[0].GetArrayLength())).ToArray();
        Assert.Equal([(4, 8), (8, 8), (8, 4), (4, 1)], shapes);
        Assert.Equal(0, frame.GetProperty("step").GetInt64());
    }

    [Fact]
    public async Task A_step_moves_the_weights_by_minus_the_learning_rate_times_the_step_mode_gradient()
    {
        // Plain SGD on one hidden layer: after one step, W1 = W1 − lr·W1_update, with W1_update the trace's ∂E/∂W1.
        string config = """{"dataset": "xor", "optimizer": "sgd", "learningRate": 0.1, "layers": [{"neurons": 3, "activation": "tanh"}], "features": ["x1", "x2"]}""";
        var frame = await Api.Ok(http, "POST", "/api/sessions", config);
        string id = frame.GetProperty("id").GetString()!;
        var trace = await Api.Ok(http, "POST", $"/api/sessions/{id}/explain", """{"apply": true}""");
        var after = await Api.Ok(http, "GET", $"/api/sessions/{id}");
        Assert.Equal(1, after.GetProperty("step").GetInt64());
        var (w1, _, _) = Api.Matrix(Api.Entry(trace, "W1").GetProperty("value"));
        var (g1, _, _) = Api.Matrix(Api.Entry(trace, "W1_update").GetProperty("value"));
        var (now, _, _) = Api.Matrix(after.GetProperty("weights")[0]);
        Assert.Contains(g1, g => MathF.Abs(g) > 1e-3f);   // the step is not a no-op
        for (int i = 0; i < w1.Length; i++) Assert.Equal(w1[i] - 0.1f * g1[i], now[i], 4);   // the frame rounds to 4 decimals
    }

    [Fact]
    public async Task Changing_only_the_learning_rate_keeps_the_trained_weights_and_anything_else_starts_again()
    {
        var frame = await Api.Ok(http, "POST", "/api/sessions", """{"dataset": "xor", "optimizer": "sgd"}""");
        string id = frame.GetProperty("id").GetString()!;
        var trained = (await Api.Ok(http, "POST", $"/api/sessions/{id}/train", """{"steps": 10}""")).GetProperty("frame");
        var config = JsonNodeOf(trained.GetProperty("config"));
        config["learningRate"] = 0.3;
        var kept = await Api.Ok(http, "PUT", $"/api/sessions/{id}/config", config.ToJsonString());
        Assert.Equal(10, kept.GetProperty("step").GetInt64());
        Assert.Equal(0.3f, kept.GetProperty("config").GetProperty("learningRate").GetSingle());
        Assert.Equal(trained.GetProperty("weights").GetRawText(), kept.GetProperty("weights").GetRawText());
        config["noise"] = 0.1;
        var fresh = await Api.Ok(http, "PUT", $"/api/sessions/{id}/config", config.ToJsonString());
        Assert.Equal(0, fresh.GetProperty("step").GetInt64());
        Assert.NotEqual(trained.GetProperty("weights").GetRawText(), fresh.GetProperty("weights").GetRawText());
    }

    private static System.Text.Json.Nodes.JsonObject JsonNodeOf(JsonElement e) => System.Text.Json.Nodes.JsonNode.Parse(e.GetRawText())!.AsObject();

    [Fact]
    public async Task Spirals_with_the_default_network_reach_a_test_loss_below_0_1()
    {
        var frame = await Api.Ok(http, "POST", "/api/sessions", """{"dataset": "spiral"}""");
        string id = frame.GetProperty("id").GetString()!;
        double testLoss = frame.GetProperty("testLoss").GetDouble();
        Assert.True(testLoss > 0.3, $"an untrained network should be far off, but its test loss is {testLoss}");
        var started = DateTime.UtcNow;
        for (int i = 0; i < 100 && testLoss >= 0.1; i++)
        {
            var reply = await Api.Ok(http, "POST", $"/api/sessions/{id}/train", """{"steps": 100}""");
            testLoss = reply.GetProperty("frame").GetProperty("testLoss").GetDouble();
        }
        Console.WriteLine($"spirals: test loss {testLoss:F4} after {(DateTime.UtcNow - started).TotalSeconds:F1} s");
        Assert.True(testLoss < 0.1, $"test loss {testLoss} after 10,000 steps");
    }

    [Fact]
    public async Task The_seed_example_equals_backprop_explain_json()
    {
        var page = await Api.Ok(http, "GET", "/api/seed");
        // backprop explain --json prints SeedExample.Trace().ToJson(); every matrix must be the same numbers.
        using var cli = JsonDocument.Parse(SeedExample.Trace().ToJson());
        var names = page.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(cli.RootElement.EnumerateObject().Select(p => p.Name), names);
        foreach (var p in cli.RootElement.EnumerateObject())
            Assert.Equal(Api.Matrix(p.Value).Values, Api.Matrix(Api.Entry(page, p.Name).GetProperty("value")).Values);
        Assert.Equal(9, page.GetProperty("n").GetInt32());
        // The seed's printed H_out, to its two decimals.
        var (hOut, _, _) = Api.Matrix(Api.Entry(page, "H_out").GetProperty("value"));
        Assert.Equal([0.81f, 0.81f, 0.97f, 0.71f, 0.97f, 0.62f], hOut.Select(v => MathF.Round(v, 2)));
        Assert.Equal("(1/N)·Xᵀ·H_delta", Api.Entry(page, "W1_update").GetProperty("formula").GetString());
    }

    [Fact]
    public async Task Step_mode_of_a_session_equals_StepTrace_on_the_same_weights_and_batch()
    {
        var frame = await Api.Ok(http, "POST", "/api/sessions", """{"dataset": "gauss", "layers": [{"neurons": 4, "activation": "relu"}], "batchSize": 7}""");
        string id = frame.GetProperty("id").GetString()!;
        await Api.Ok(http, "POST", $"/api/sessions/{id}/train", """{"steps": 30}""");
        var page = await Api.Ok(http, "POST", $"/api/sessions/{id}/explain");
        var expected = StepTrace.ForModel(
            Api.Tensor(Api.Entry(page, "X").GetProperty("value")), Api.Tensor(Api.Entry(page, "Y").GetProperty("value")),
            [
                new TraceLayer(Api.Tensor(Api.Entry(page, "W1").GetProperty("value")), Api.Tensor(Api.Entry(page, "b1").GetProperty("value")), "relu"),
                new TraceLayer(Api.Tensor(Api.Entry(page, "W2").GetProperty("value")), Api.Tensor(Api.Entry(page, "b2").GetProperty("value")), "tanh"),
            ]);
        Assert.Equal(expected.Names, page.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        foreach (string name in new[] { "H_in", "H_out", "O_in", "O_out", "O_error", "O_delta", "W2_update", "H_error", "H_delta", "W1_update" })
            Assert.Equal(expected[name].ToArray(), Api.Matrix(Api.Entry(page, name).GetProperty("value")).Values);
        Assert.Equal(7, Api.Entry(page, "X").GetProperty("value").GetArrayLength());
        Assert.Equal(expected.Loss.Item(), page.GetProperty("loss").GetSingle());
    }

    [Fact]
    public async Task The_circuit_has_Expressions_values_and_gradients_and_numerical_slopes_approach_them()
    {
        var c = await Api.Ok(http, "POST", "/api/circuit", """{"expression": "(x + y) * z", "values": {"x": -2, "y": 5, "z": -4}}""");
        var expected = Expression.Grad("(x + y) * z", new Dictionary<string, float> { ["x"] = -2, ["y"] = 5, ["z"] = -4 });
        Assert.Equal(expected.Value, c.GetProperty("value").GetSingle());
        foreach (var (name, g) in expected.Gradients) Assert.Equal(g, c.GetProperty("gradients").GetProperty(name).GetSingle());
        var nodes = c.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("name").GetString()!);
        // The add gate hands ∂f/∂(x+y) = z = −4 to both inputs; the mul gate gives z the other input, x + y = 3.
        Assert.Equal(-4f, nodes["x + y"].GetProperty("grad").GetSingle());
        Assert.Equal("+", nodes["x + y"].GetProperty("op").GetString());
        Assert.Equal(3f, nodes["x + y"].GetProperty("value").GetSingle());
        Assert.Equal(3f, nodes["z"].GetProperty("grad").GetSingle());
        Assert.Equal(1f, nodes["(x + y) * z"].GetProperty("grad").GetSingle());
        // A nonlinear one: the slope's error shrinks with Δx (first order) until float32 rounding.
        var s = await Api.Ok(http, "POST", "/api/circuit", """{"expression": "x^3", "values": {"x": 2}}""");
        Assert.Equal(12f, s.GetProperty("gradients").GetProperty("x").GetSingle());
        var slopes = s.GetProperty("numerical").GetProperty("x").EnumerateArray().ToArray();
        Assert.Equal(1f, slopes[0].GetProperty("dx").GetSingle());
        Assert.Equal(19f, slopes[0].GetProperty("slope").GetSingle(), 3);        // ((3)³ − 8)/1
        Assert.Equal(12.61f, slopes[1].GetProperty("slope").GetSingle(), 2);     // (2.1³ − 8)/0.1
        Assert.True(MathF.Abs(slopes[2].GetProperty("error").GetSingle()) < 0.07f);
        // max routes the whole gradient to the larger input.
        var m = await Api.Ok(http, "POST", "/api/circuit", """{"expression": "max(x, y) * z", "values": {"x": 2, "y": -1, "z": 3}}""");
        Assert.Equal(3f, m.GetProperty("gradients").GetProperty("x").GetSingle());
        Assert.Equal(0f, m.GetProperty("gradients").GetProperty("y").GetSingle());
    }

    [Theory]
    [InlineData("POST", "/api/sessions", "{\"dataset\": ", 400, "the request body is not valid JSON")]
    [InlineData("POST", "/api/sessions", "[1, 2]", 400, "config must be a JSON object but got an array")]
    [InlineData("POST", "/api/sessions", "{\"dataset\": \"moons\"}", 400, "dataset must be one of circle, xor, gauss, spiral, plane, multigauss, csv but got the string \"moons\"")]
    [InlineData("POST", "/api/sessions", "{\"layers\": [{\"neurons\": 100000}]}", 400, "layers[0].neurons must be a whole number from 1 to 32 but got the number 100000")]
    [InlineData("POST", "/api/sessions", "{\"layers\": [{\"neurons\": 2}, {\"neurons\": 2}, {\"neurons\": 2}, {\"neurons\": 2}, {\"neurons\": 2}, {\"neurons\": 2}, {\"neurons\": 2}, {\"neurons\": 2}, {\"neurons\": 2}]}", 400, "layers may hold at most 8 hidden layers but got 9")]
    [InlineData("POST", "/api/sessions", "{\"points\": 1000000000}", 400, "points must be a whole number from 20 to 2000 but got the number 1000000000")]
    [InlineData("POST", "/api/sessions", "{\"features\": []}", 400, "features must name at least one input but got an empty array")]
    [InlineData("POST", "/api/sessions", "{\"speed\": 3}", 400, "unknown config field 'speed'")]
    [InlineData("POST", "/api/sessions/0123456789abcdef/train", "{\"steps\": 1}", 404, "no session '0123456789abcdef'")]
    [InlineData("GET", "/api/sessions/nope", null, 404, "no session 'nope'")]
    [InlineData("DELETE", "/api/sessions/nope", null, 404, "no session 'nope'")]
    [InlineData("POST", "/api/circuit", "{\"expression\": \"(x + \"}", 400, "expected")]
    [InlineData("POST", "/api/circuit", "{\"values\": {}}", 400, "the expression must be a string")]
    [InlineData("GET", "/api/nothing", null, 404, "no such page or API route: GET /api/nothing")]
    public async Task Mistakes_get_a_JSON_error_with_its_status_and_the_server_keeps_serving(string method, string path, string? body, int status, string message)
    {
        var (got, reply) = await Api.Send(http, method, path, body);
        Assert.Equal(status, got);
        Assert.Contains(message, reply.GetProperty("error").GetString());
        Assert.Equal(status, reply.GetProperty("status").GetInt32());
        var (after, _) = await Api.Send(http, "POST", "/api/sessions");
        Assert.Equal(201, after);
    }

    [Fact]
    public async Task Huge_bodies_and_step_counts_are_refused_with_413()
    {
        string huge = "{\"seed\": 1, \"pad\": \"" + new string('x', 100_000) + "\"}";
        var (status, reply) = await Api.Send(http, "POST", "/api/sessions", huge);
        Assert.Equal(413, status);
        Assert.Contains("at most 65536 bytes", reply.GetProperty("error").GetString());
        string id = (await Api.Ok(http, "POST", "/api/sessions")).GetProperty("id").GetString()!;
        (status, reply) = await Api.Send(http, "POST", $"/api/sessions/{id}/train", """{"steps": 100000000}""");
        Assert.Equal(413, status);
        Assert.Equal("steps must be a whole number from 1 to 1000 but got 100000000", reply.GetProperty("error").GetString());
        (status, reply) = await Api.Send(http, "POST", "/api/circuit", "{\"expression\": \"" + string.Concat(Enumerable.Repeat("x+", 300)) + "x\"}");
        Assert.Equal(413, status);
        Assert.Equal("the expression may be at most 500 characters but has 601", reply.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Twenty_sessions_train_at_once_each_on_its_own_data()
    {
        var ids = new string[20];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = (await Api.Ok(http, "POST", "/api/sessions", $$"""{"dataset": "{{ToyData.Names[i % 4]}}", "seed": {{i}}}""")).GetProperty("id").GetString()!;
        var replies = await Task.WhenAll(ids.Select(async id =>
        {
            JsonElement last = default;
            for (int k = 0; k < 5; k++) last = await Api.Ok(http, "POST", $"/api/sessions/{id}/train", """{"steps": 20}""");
            return last;
        }));
        for (int i = 0; i < ids.Length; i++)
        {
            var frame = replies[i].GetProperty("frame");
            Assert.Equal(ids[i], frame.GetProperty("id").GetString());
            Assert.Equal(100, frame.GetProperty("step").GetInt64());
            Assert.Equal(ToyData.Names[i % 4], frame.GetProperty("config").GetProperty("dataset").GetString());
            Assert.True(double.IsFinite(frame.GetProperty("testLoss").GetDouble()));
        }
    }
}
