using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Backprop.Explain;

namespace Backprop.Playground.Tests;

/// <summary>
/// The user's own data (CSV uploads with any number of classes or a regression target), the regression sets,
/// dropout, residual connections and editing a weight, through the API.
/// </summary>
public sealed class DataApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly HttpClient http = fixture.Http;

    /// <summary>Three well-separated blobs in raw units (x1 in about [0, 100], x2 in about [−1, 1]), labels named.</summary>
    internal static string ThreeBlobs(int perClass, bool header = true)
    {
        var random = new Random(5);
        var csv = new StringBuilder(header ? "petal length,petal width,species\n" : "");
        (float X, float Y, string Name)[] centres = [(20, -0.6f, "setosa"), (80, -0.6f, "virginica"), (50, 0.6f, "versicolor")];
        for (int i = 0; i < perClass; i++)
            foreach (var (x, y, name) in centres)
                csv.Append(CultureInfo.InvariantCulture, $"{x + 6 * ToyData.Normal(random):F3},{y + 0.1f * ToyData.Normal(random):F4},{name}\n");
        return csv.ToString();
    }

    private Task<string> NewSession(string config = "{}") => Api.NewSession(http, config);

    private Task<(int Status, JsonElement Body)> Upload(string id, string csv, string query = "") => Api.Upload(http, id, csv, query);

    private Task<JsonElement> Train(string id, int requests, int steps = 100) => Api.Train(http, id, requests, steps);

    [Fact]
    public async Task A_CSV_of_three_named_classes_trains_a_softmax_output_to_high_test_accuracy()
    {
        string id = await NewSession("""{"features": ["x1", "x2"], "learningRate": 0.03}""");
        var (status, frame) = await Upload(id, ThreeBlobs(100));
        Assert.Equal(200, status);
        Assert.Equal("csv", frame.GetProperty("config").GetProperty("dataset").GetString());
        Assert.Equal("classes", frame.GetProperty("task").GetProperty("kind").GetString());
        // Classes in ordinal order, so the same file always gives the same indices.
        Assert.Equal(["setosa", "versicolor", "virginica"], frame.GetProperty("task").GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["petal length", "petal width", "species"], frame.GetProperty("csv").GetProperty("columns").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(300, frame.GetProperty("csv").GetProperty("rows").GetInt32());
        // The output layer has one unit per class: weights [4, 3] and three output heatmaps; each cell names its class.
        var weights = frame.GetProperty("weights");
        Assert.Equal(3, weights[weights.GetArrayLength() - 1][0].GetArrayLength());
        Assert.Equal(3, frame.GetProperty("neurons")[3].GetArrayLength());
        Assert.Equal(50 * 50, frame.GetProperty("outputClass").GetArrayLength());
        // Points: scaled onto [−5, 5] and labelled by class index.
        var points = frame.GetProperty("train").EnumerateArray().Concat(frame.GetProperty("test").EnumerateArray()).ToArray();
        Assert.Equal(300, points.Length);
        Assert.Equal(-5f, points.Min(p => p[0].GetSingle()), 3);
        Assert.Equal(5f, points.Max(p => p[0].GetSingle()), 3);
        Assert.Equal([0, 1, 2], points.Select(p => p[2].GetInt32()).Distinct().Order());
        double before = frame.GetProperty("testAccuracy").GetDouble();
        var trained = await Train(id, 10);
        double accuracy = trained.GetProperty("testAccuracy").GetDouble();
        Assert.True(accuracy >= 0.97, $"test accuracy {accuracy} (untrained {before})");
        Assert.True(trained.GetProperty("testLoss").GetDouble() < 0.2, $"cross-entropy {trained.GetProperty("testLoss")}");
        // The boundary heatmap predicts all three classes somewhere.
        Assert.Equal([0, 1, 2], trained.GetProperty("outputClass").EnumerateArray().Select(c => c.GetInt32()).Distinct().Order());
        // Step mode explains the seeds' loss only, and says so.
        var (explainStatus, explain) = await Api.Send(http, "POST", $"/api/sessions/{id}/explain");
        Assert.Equal(400, explainStatus);
        Assert.Equal("step mode cannot explain this session: this session has 3 classes and trains softmax cross-entropy; step mode explains the seeds' loss E = 1/(2N)·Σ(O_out − Y)², which two-class and regression data train",
            explain.GetProperty("error").GetString());
        // A change of architecture keeps the upload.
        var config = System.Text.Json.Nodes.JsonNode.Parse(trained.GetProperty("config").GetRawText())!.AsObject();
        config["layers"] = System.Text.Json.Nodes.JsonNode.Parse("""[{"neurons": 5, "activation": "relu"}]""");
        var rebuilt = await Api.Ok(http, "PUT", $"/api/sessions/{id}/config", config.ToJsonString());
        Assert.Equal(300, rebuilt.GetProperty("train").GetArrayLength() + rebuilt.GetProperty("test").GetArrayLength());
        Assert.Equal(3, rebuilt.GetProperty("weights")[1][0].GetArrayLength());
    }

    [Fact]
    public async Task A_CSV_of_two_numeric_classes_is_the_binary_tanh_task_that_step_mode_explains()
    {
        string id = await NewSession("""{"features": ["x1", "x2"], "layers": [{"neurons": 3, "activation": "tanh"}], "batchSize": 5}""");
        var csv = new StringBuilder();
        var random = new Random(2);
        for (int i = 0; i < 40; i++) csv.Append(CultureInfo.InvariantCulture, $"{random.NextDouble():F3},{random.NextDouble():F3},{(i % 2 == 0 ? 7 : 3)}\n");
        var (status, frame) = await Upload(id, csv.ToString());
        Assert.Equal(200, status);
        Assert.Equal("binary", frame.GetProperty("task").GetProperty("kind").GetString());
        Assert.Equal(["3", "7"], frame.GetProperty("task").GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal([-1, 1], frame.GetProperty("train").EnumerateArray().Select(p => p[2].GetInt32()).Distinct().Order());
        Assert.Equal(["x1", "x2", "label"], frame.GetProperty("csv").GetProperty("columns").EnumerateArray().Select(c => c.GetString()));
        var trace = await Api.Ok(http, "POST", $"/api/sessions/{id}/explain");
        Assert.Equal(5, Api.Entry(trace, "Y").GetProperty("value").GetArrayLength());
        Assert.All(Api.Matrix(Api.Entry(trace, "Y").GetProperty("value")).Values, y => Assert.True(y is 1f or -1f));
    }

    [Fact]
    public async Task A_CSV_with_a_continuous_target_is_regression_with_a_linear_output()
    {
        string id = await NewSession("""{"features": ["x1", "x2"], "layers": [{"neurons": 4, "activation": "tanh"}], "learningRate": 0.03}""");
        var csv = new StringBuilder("a,b,y\n");
        var random = new Random(3);
        for (int i = 0; i < 200; i++)
        {
            double a = random.NextDouble() * 10, b = random.NextDouble() * 10;
            csv.Append(CultureInfo.InvariantCulture, $"{a:F4},{b:F4},{a + 2 * b:F4}\n");
        }
        var (status, frame) = await Upload(id, csv.ToString());
        Assert.Equal(200, status);
        Assert.Equal("regression", frame.GetProperty("task").GetProperty("kind").GetString());
        Assert.Equal(0, frame.GetProperty("task").GetProperty("classes").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, frame.GetProperty("testAccuracy").ValueKind);
        var targets = frame.GetProperty("train").EnumerateArray().Concat(frame.GetProperty("test").EnumerateArray()).Select(p => p[2].GetSingle()).ToArray();
        Assert.Equal(-1f, targets.Min());   // the target is scaled onto [−1, 1]
        Assert.Equal(1f, targets.Max());
        Assert.Equal(2, frame.GetProperty("csv").GetProperty("target").GetArrayLength());
        var trained = await Train(id, 10);
        Assert.True(trained.GetProperty("testLoss").GetDouble() < 0.005, $"test loss {trained.GetProperty("testLoss")}");
        // Step mode explains it: a linear output, O_out = O_in.
        var trace = await Api.Ok(http, "POST", $"/api/sessions/{id}/explain");
        Assert.Equal("O_in", Api.Entry(trace, "O_out").GetProperty("formula").GetString());
    }

    [Theory]
    [InlineData("plane")]
    [InlineData("multigauss")]
    public async Task The_reference_page_s_regression_sets_train_below_a_small_test_loss(string dataset)
    {
        var frame = await Api.Ok(http, "POST", "/api/sessions", $$"""{"dataset": "{{dataset}}", "learningRate": 0.03}""");
        string id = frame.GetProperty("id").GetString()!;
        Assert.Equal("regression", frame.GetProperty("task").GetProperty("kind").GetString());
        var targets = frame.GetProperty("train").EnumerateArray().Select(p => p[2].GetSingle()).ToArray();
        Assert.All(targets, t => Assert.InRange(t, -1f, 1f));
        Assert.True(targets.Count(t => t > 0.5f) > 10 && targets.Count(t => t < -0.5f) > 10, "targets should span the scale");
        double untrained = frame.GetProperty("testLoss").GetDouble();
        var trained = await Train(id, dataset == "plane" ? 5 : 30);
        double loss = trained.GetProperty("testLoss").GetDouble();
        Assert.True(loss < (dataset == "plane" ? 0.01 : 0.02), $"{dataset}: test loss {loss} (untrained {untrained})");
    }

    [Fact]
    public async Task Bad_CSV_lines_are_listed_by_line_number_with_what_was_expected()
    {
        string id = await NewSession();
        var (status, reply) = await Upload(id, "x1,x2,label\n1,2,a\n3,b,a\n4,5\n\n6,7,\n8,9,b\n");
        Assert.Equal(400, status);
        Assert.Equal("the CSV has 3 bad lines:\nline 3: x2 must be a number but got \"b\"\nline 4: expected 3 comma-separated values (x1, x2, label) as line 1 has, but got 2\nline 6: label is empty",
            reply.GetProperty("error").GetString());
        Assert.Equal(400, reply.GetProperty("status").GetInt32());
        // At most five are listed.
        (status, reply) = await Upload(id, "a,b,c\n" + string.Concat(Enumerable.Repeat("1,x,0\n", 8)));
        Assert.Equal("the CSV has 8 bad lines:\nline 2: b must be a number but got \"x\"\nline 3: b must be a number but got \"x\"\nline 4: b must be a number but got \"x\"\nline 5: b must be a number but got \"x\"\nline 6: b must be a number but got \"x\"\n… and 3 more",
            reply.GetProperty("error").GetString());
        (status, reply) = await Upload(id, "1,2,3.5\n2,3,oops\n1,1,1\n2,2,2\n", "?task=regression");
        Assert.Equal("the CSV has 1 bad line:\nline 2: label must be a number (the regression target) but got \"oops\"", reply.GetProperty("error").GetString());
        // The session kept its data and still trains.
        var frame = await Api.Ok(http, "POST", $"/api/sessions/{id}/train", """{"steps": 1}""");
        Assert.Equal("circle", frame.GetProperty("frame").GetProperty("config").GetProperty("dataset").GetString());
    }

    [Theory]
    [InlineData("", "", 400, "expected a CSV body (2 or more numeric features and a label per line) but the request had none")]
    [InlineData("1,2,a\n", "", 400, "the CSV needs at least 4 rows of x1, x2, label (some to train on, some to test) but has 1")]
    [InlineData("1,2,a\n2,3,a\n3,4,a\n4,5,a\n", "", 400, "the label column holds one class only (\"a\"); a classifier needs at least two")]
    [InlineData("1,2,a\n2,3,b\n3,4,c\n4,5,d\n5,6,e\n6,7,f\n7,8,g\n8,9,h\n9,1,i\n", "", 400, "the label column has 9 distinct classes; the playground takes at most 8 (a numeric column of other values is read as a regression target)")]
    [InlineData("1,2,a\n2,3,b\n3,4,a\n4,5,b\n", "?task=linear", 400, "task must be one of auto, classes, regression but got \"linear\"")]
    public async Task Whole_file_mistakes_get_one_clear_message(string csv, string query, int status, string message)
    {
        string id = await NewSession();
        var (got, reply) = await Upload(id, csv, query);
        Assert.Equal(status, got);
        Assert.Equal(message, reply.GetProperty("error").GetString());
    }

    [Fact]
    public async Task CSVs_over_the_row_or_byte_cap_get_413_and_the_csv_dataset_needs_an_upload()
    {
        string id = await NewSession();
        var (status, reply) = await Upload(id, string.Concat(Enumerable.Repeat("1,2,a\n2,1,b\n", 1001)));
        Assert.Equal(413, status);
        Assert.Equal("the CSV may have at most 2000 rows but has 2002", reply.GetProperty("error").GetString());
        (status, reply) = await Upload(id, new string('1', 300 * 1024));
        Assert.Equal(413, status);
        Assert.StartsWith("the CSV may be at most 262144 bytes", reply.GetProperty("error").GetString());
        (status, reply) = await Api.Send(http, "POST", "/api/sessions", """{"dataset": "csv"}""");
        Assert.Equal(400, status);
        Assert.Equal("dataset csv is the session's uploaded CSV, and this session has none: upload one first (POST /api/sessions/{id}/data with the CSV as the body)",
            reply.GetProperty("error").GetString());
        (status, _) = await Upload("nope", "1,2,a\n");
        Assert.Equal(404, status);
    }

    [Fact]
    public async Task An_edited_weight_is_used_by_the_next_forward_pass()
    {
        string id = await NewSession("""{"dataset": "xor", "features": ["x1", "x2"], "layers": [{"neurons": 3, "activation": "tanh"}], "batchSize": 4}""");
        var frame = await Api.Ok(http, "POST", $"/api/sessions/{id}/weight", """{"layer": 1, "from": 2, "to": 0, "value": 0.75}""");
        Assert.Equal(0.75f, frame.GetProperty("weights")[1][2][0].GetSingle());
        frame = await Api.Ok(http, "POST", $"/api/sessions/{id}/weight", """{"layer": 0, "from": 1, "to": 2, "value": -1.5}""");
        Assert.Equal(-1.5f, frame.GetProperty("weights")[0][1][2].GetSingle());
        var trace = await Api.Ok(http, "POST", $"/api/sessions/{id}/explain");
        var (w1, _, _) = Api.Matrix(Api.Entry(trace, "W1").GetProperty("value"));
        var (w2, _, _) = Api.Matrix(Api.Entry(trace, "W2").GetProperty("value"));
        Assert.Equal(-1.5f, w1[1 * 3 + 2]);
        Assert.Equal(0.75f, w2[2]);
        // The forward pass of the trace is the engine's on those weights: recompute it from the trace's own numbers.
        var x = Api.Tensor(Api.Entry(trace, "X").GetProperty("value"));
        var expected = StepTrace.ForModel(x, Api.Tensor(Api.Entry(trace, "Y").GetProperty("value")),
            [
                new TraceLayer(Api.Tensor(Api.Entry(trace, "W1").GetProperty("value")), Api.Tensor(Api.Entry(trace, "b1").GetProperty("value")), "tanh"),
                new TraceLayer(Api.Tensor(Api.Entry(trace, "W2").GetProperty("value")), Api.Tensor(Api.Entry(trace, "b2").GetProperty("value")), "tanh"),
            ]);
        Assert.Equal(expected["O_out"].ToArray(), Api.Matrix(Api.Entry(trace, "O_out").GetProperty("value")).Values);
        // By hand for row 0's hidden unit 3: tanh(x1·W1[0,2] + x2·(−1.5) + b1[2]).
        var (xs, _, _) = Api.Matrix(Api.Entry(trace, "X").GetProperty("value"));
        var (b1, _, _) = Api.Matrix(Api.Entry(trace, "b1").GetProperty("value"));
        var (hOut, _, _) = Api.Matrix(Api.Entry(trace, "H_out").GetProperty("value"));
        Assert.Equal(MathF.Tanh(xs[0] * w1[2] + xs[1] * -1.5f + b1[2]), hOut[2], 6);
        // Bad edits name the index that is out of range.
        var (status, reply) = await Api.Send(http, "POST", $"/api/sessions/{id}/weight", """{"layer": 2, "from": 0, "to": 0, "value": 1}""");
        Assert.Equal(400, status);
        Assert.Equal("layer must be from 0 to 1 (this network has 2 weight matrices) but got 2", reply.GetProperty("error").GetString());
        (_, reply) = await Api.Send(http, "POST", $"/api/sessions/{id}/weight", """{"layer": 1, "from": 3, "to": 0, "value": 1}""");
        Assert.Equal("from must be from 0 to 2 (weight matrix 1 has 3 inputs) but got 3", reply.GetProperty("error").GetString());
        (_, reply) = await Api.Send(http, "POST", $"/api/sessions/{id}/weight", """{"layer": 1, "from": 0, "to": 0, "value": "big"}""");
        Assert.Equal("value must be a number (expected {\"layer\": l, \"from\": i, \"to\": j, \"value\": w})", reply.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Dropout_trains_with_random_masks_but_the_heatmaps_and_losses_are_evaluated_without_them()
    {
        string config = """{"dataset": "circle", "optimizer": "sgd", "learningRate": 0.1, "features": ["x1", "x2"], "layers": [{"neurons": 8, "activation": "tanh", "dropout": RATE}, {"neurons": 8, "activation": "tanh", "dropout": RATE}]}""";
        string plain = await NewSession(config.Replace("RATE", "0"));
        string dropped = await NewSession(config.Replace("RATE", "0.5"));
        var a = await Train(plain, 1, 5);
        var b = await Train(dropped, 1, 5);
        Assert.Equal(0.5f, b.GetProperty("config").GetProperty("layers")[1].GetProperty("dropout").GetSingle());
        // Same seed, same initial weights: only the masks differ, so the trained weights do.
        Assert.NotEqual(a.GetProperty("weights").GetRawText(), b.GetProperty("weights").GetRawText());
        // Evaluation draws no masks: the same weights give the same frame twice.
        var first = await Api.Ok(http, "GET", $"/api/sessions/{dropped}");
        var second = await Api.Ok(http, "GET", $"/api/sessions/{dropped}");
        Assert.Equal(first.GetProperty("testLoss").GetDouble(), second.GetProperty("testLoss").GetDouble());
        Assert.Equal(first.GetProperty("output").GetRawText(), second.GetProperty("output").GetRawText());
        var (status, reply) = await Api.Send(http, "POST", $"/api/sessions/{dropped}/explain");
        Assert.Equal(400, status);
        Assert.Equal("step mode cannot explain this session: its network has dropout on hidden layers 1 and 2, whose random masks a trace does not show; set dropout to 0 there", reply.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_residual_layer_adds_its_input_to_its_output()
    {
        var frame = await Api.Ok(http, "POST", "/api/sessions",
            """{"features": ["x1", "x2"], "layers": [{"neurons": 2, "activation": "tanh"}, {"neurons": 2, "activation": "tanh", "residual": true}]}""");
        Assert.True(frame.GetProperty("config").GetProperty("layers")[1].GetProperty("residual").GetBoolean());
        var (w1, _, _) = Api.Matrix(frame.GetProperty("weights")[0]);
        var (w2, _, _) = Api.Matrix(frame.GetProperty("weights")[1]);
        float[] b1 = [.. frame.GetProperty("biases")[0].EnumerateArray().Select(v => v.GetSingle())];
        float[] b2 = [.. frame.GetProperty("biases")[1].EnumerateArray().Select(v => v.GetSingle())];
        var neurons = frame.GetProperty("neurons");
        int res = frame.GetProperty("neuronResolution").GetInt32(), checkedCells = 0;
        for (int cell = 0; cell < res * res; cell += 7)
        {
            float x1 = -6 + (cell % res + 0.5f) * 12f / res, x2 = 6 - (cell / res + 0.5f) * 12f / res;
            float[] h1 = [MathF.Tanh(x1 * w1[0] + x2 * w1[2] + b1[0]), MathF.Tanh(x1 * w1[1] + x2 * w1[3] + b1[1])];
            for (int j = 0; j < 2; j++)
            {
                float h2 = h1[j] + MathF.Tanh(h1[0] * w2[j] + h1[1] * w2[2 + j] + b2[j]);
                // The heatmaps are ×100, rounded and clamped to ±100; the frame's weights are rounded to 4 decimals.
                Assert.InRange(neurons[1][j][cell].GetInt32() - MathF.Round(Math.Clamp(h2, -1, 1) * 100), -2, 2);
                if (MathF.Abs(h1[j]) > 0.2f && MathF.Abs(h2) < 0.95f) checkedCells++;   // cells where a missing skip would show
            }
        }
        Assert.True(checkedCells > 5);
        var (status, reply) = await Api.Send(http, "POST", "/api/sessions",
            """{"layers": [{"neurons": 4}, {"neurons": 3, "residual": true}]}""");
        Assert.Equal(400, status);
        Assert.Equal("layers[1].residual needs layers[0] to be as wide as layers[1] (3 neurons) but it has 4", reply.GetProperty("error").GetString());
        (_, reply) = await Api.Send(http, "POST", "/api/sessions", """{"layers": [{"neurons": 4, "residual": true}]}""");
        Assert.StartsWith("layers[0].residual must be false", reply.GetProperty("error").GetString());
    }
}
