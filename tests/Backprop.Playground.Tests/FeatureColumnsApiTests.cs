using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Backprop.Playground.Tests;

/// <summary>
/// CSVs of more than two feature columns (the network takes the k columns; the pictures are a slice through a chosen
/// pair, the others held at their mean) and dropout per hidden layer, through the API.
/// </summary>
public sealed class FeatureColumnsApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly HttpClient http = fixture.Http;

    /// <summary>
    /// Three classes told apart by the third column only (c near 0, 10 or 20); a and b are noise. One last high row
    /// has c = 100, so c's mean (about 10, mid) lies far from the middle of its range (about 48, beyond high) once
    /// scaled. Classes in ordinal order: high 0, low 1, mid 2.
    /// </summary>
    internal static string ThirdColumnClasses(int perClass)
    {
        var random = new Random(11);
        var csv = new StringBuilder("a,b,c,kind\n");
        (float C, string Name)[] classes = [(0, "low"), (10, "mid"), (20, "high")];
        for (int i = 0; i < perClass; i++)
            foreach (var (c, name) in classes)
                csv.Append(CultureInfo.InvariantCulture, $"{random.NextDouble() * 4:F3},{random.NextDouble() * 100:F2},{c + ToyData.Normal(random):F3},{name}\n");
        return csv.Append("2,50,100,high\n").ToString();
    }

    private Task<string> NewSession(string config = "{}") => Api.NewSession(http, config);

    private Task<(int Status, JsonElement Body)> Upload(string id, string csv, string query = "") => Api.Upload(http, id, csv, query);

    private Task<JsonElement> Train(string id, int requests, int steps = 100) => Api.Train(http, id, requests, steps);

    /// <summary>PUT the frame's config back with <paramref name="change"/> applied.</summary>
    private async Task<(int Status, JsonElement Body)> Reconfigure(string id, JsonElement frame, Action<JsonObject> change)
    {
        var config = JsonNode.Parse(frame.GetProperty("config").GetRawText())!.AsObject();
        change(config);
        return await Api.Send(http, "PUT", $"/api/sessions/{id}/config", config.ToJsonString());
    }

    private static int[] Classes(JsonElement frame) => [.. frame.GetProperty("outputClass").EnumerateArray().Select(c => c.GetInt32())];

    [Fact]
    public async Task A_three_feature_CSV_trains_on_all_three_and_the_picture_is_the_slice_through_the_chosen_pair()
    {
        string id = await NewSession("""{"layers": [{"neurons": 8, "activation": "tanh"}], "learningRate": 0.03}""");
        var (status, frame) = await Upload(id, ThirdColumnClasses(100));
        Assert.Equal(200, status);
        Assert.Equal(["high", "low", "mid"], frame.GetProperty("task").GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
        var csv = frame.GetProperty("csv");
        Assert.Equal(3, csv.GetProperty("features").GetInt32());
        Assert.Equal(["a", "b", "c", "kind"], csv.GetProperty("columns").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(3, csv.GetProperty("ranges").GetArrayLength());
        Assert.InRange(csv.GetProperty("means")[2].GetSingle(), 9.5f, 10.5f);
        Assert.Equal([0, 1], frame.GetProperty("config").GetProperty("plot").EnumerateArray().Select(v => v.GetInt32()));
        // The network's inputs are the three columns (the x1², sin x1, … of the config are for two-column data).
        Assert.Equal(3, frame.GetProperty("weights")[0].GetArrayLength());
        var trained = await Train(id, 10);
        double accuracy = trained.GetProperty("testAccuracy").GetDouble();
        Assert.True(accuracy >= 0.97, $"test accuracy {accuracy}: only column c tells the classes apart");
        // Plotted over a and b, with c held at its mean (10: mid), the whole picture is mid (at the middle of c's
        // range it would be high).
        var overAB = Classes(trained);
        Assert.True(overAB.Count(c => c == 2) > 0.9 * overAB.Length, $"mid covers {overAB.Count(c => c == 2)} of {overAB.Length} cells over (a, b)");
        // Plotted over a and c, c runs up the picture: low at the bottom, mid about its mean, high above. The run goes
        // on (same step), and the points come in the new pair.
        long step = trained.GetProperty("step").GetInt64();
        (status, var slice) = await Reconfigure(id, trained, c => c["plot"] = new JsonArray(0, 2));
        Assert.Equal(200, status);
        Assert.Equal(step, slice.GetProperty("step").GetInt64());
        Assert.Equal([0, 2], slice.GetProperty("config").GetProperty("plot").EnumerateArray().Select(v => v.GetInt32()));
        var overAC = Classes(slice);
        int res = slice.GetProperty("outputResolution").GetInt32();
        int Row(int r) => overAC.Skip(r * res).Take(res).GroupBy(c => c).MaxBy(g => g.Count())!.Key;
        var (lo, hi) = (csv.GetProperty("ranges")[2][0].GetSingle(), csv.GetProperty("ranges")[2][1].GetSingle());
        float meanUp = ((csv.GetProperty("means")[2].GetSingle() - lo) / (hi - lo) * 2 - 1) * 5;   // c's mean, scaled
        Assert.Equal(0, Row(0));                                     // top: c = 6 on the scaled axis, beyond the outlier
        Assert.Equal(2, Row((int)((6 - meanUp) / 12 * res)));       // the row at c's mean: mid
        Assert.Equal(1, Row(res - 1));                               // bottom: below every row, low
        var points = slice.GetProperty("train").EnumerateArray().ToArray();
        Assert.All(points.Where(p => p[2].GetInt32() == 0), p => Assert.True(p[1].GetSingle() > meanUp + 0.4f, $"a high point plotted at c = {p[1]}"));
        Assert.All(points.Where(p => p[2].GetInt32() == 1), p => Assert.True(p[1].GetSingle() < meanUp - 0.4f, $"a low point plotted at c = {p[1]}"));
        // The neurons' pictures are the same slice: they differ from the (a, b) ones.
        Assert.NotEqual(trained.GetProperty("neurons").GetRawText(), slice.GetProperty("neurons").GetRawText());
    }

    [Fact]
    public async Task A_five_feature_CSV_without_a_header_trains_and_step_mode_and_weight_editing_take_five_inputs()
    {
        string id = await NewSession("""{"layers": [{"neurons": 4, "activation": "tanh"}], "learningRate": 0.03, "batchSize": 6}""");
        var random = new Random(4);
        var csv = new StringBuilder();
        for (int i = 0; i < 400; i++)
        {
            var x = Enumerable.Range(0, 5).Select(_ => random.NextDouble()).ToArray();
            csv.Append(string.Join(",", x.Select(v => v.ToString("F4", CultureInfo.InvariantCulture)))).Append(x.Sum() > 2.5 ? ",yes\n" : ",no\n");
        }
        var (status, frame) = await Upload(id, csv.ToString());
        Assert.Equal(200, status);
        Assert.Equal("binary", frame.GetProperty("task").GetProperty("kind").GetString());
        Assert.Equal(["x1", "x2", "x3", "x4", "x5", "label"], frame.GetProperty("csv").GetProperty("columns").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(5, frame.GetProperty("weights")[0].GetArrayLength());
        var trained = await Train(id, 10);
        double accuracy = trained.GetProperty("testAccuracy").GetDouble();
        Assert.True(accuracy >= 0.93, $"test accuracy {accuracy} (the label is x1 + … + x5 > 2.5: every column counts)");
        // Step mode: X is the batch's five scaled columns and W1 is 5×4.
        var trace = await Api.Ok(http, "POST", $"/api/sessions/{id}/explain");
        var (batch, rows, cols) = Api.Matrix(Api.Entry(trace, "X").GetProperty("value"));
        Assert.Equal((6, 5), (rows, cols));
        Assert.All(batch, v => Assert.InRange(v, -5f, 5f));
        var (_, w1Rows, w1Cols) = Api.Matrix(Api.Entry(trace, "W1").GetProperty("value"));
        Assert.Equal((5, 4), (w1Rows, w1Cols));
        // Editing a weight from the fifth input, and one past it.
        var edited = await Api.Ok(http, "POST", $"/api/sessions/{id}/weight", """{"layer": 0, "from": 4, "to": 3, "value": 2.5}""");
        Assert.Equal(2.5f, edited.GetProperty("weights")[0][4][3].GetSingle());
        var (bad, reply) = await Api.Send(http, "POST", $"/api/sessions/{id}/weight", """{"layer": 0, "from": 5, "to": 0, "value": 1}""");
        Assert.Equal(400, bad);
        Assert.Equal("from must be from 0 to 4 (weight matrix 0 has 5 inputs) but got 5", reply.GetProperty("error").GetString());
        // Any two different columns may span the picture; ones the file has not got are refused.
        (status, var slice) = await Reconfigure(id, trained, c => c["plot"] = new JsonArray(4, 1));
        Assert.Equal(200, status);
        Assert.Equal([4, 1], slice.GetProperty("config").GetProperty("plot").EnumerateArray().Select(v => v.GetInt32()));
        (status, reply) = await Reconfigure(id, trained, c => c["plot"] = new JsonArray(0, 5));
        Assert.Equal(400, status);
        Assert.Equal("plot must name two of this data's 5 input columns (0 to 4) but got [0, 5]", reply.GetProperty("error").GetString());
        // A file of fewer columns brings the picture back to its first two.
        (status, var smaller) = await Upload(id, ThirdColumnClasses(10));
        Assert.Equal(200, status);
        Assert.Equal([0, 1], smaller.GetProperty("config").GetProperty("plot").EnumerateArray().Select(v => v.GetInt32()));
    }

    [Fact]
    public async Task A_four_feature_regression_trains_below_a_small_test_loss()
    {
        string id = await NewSession("""{"layers": [{"neurons": 6, "activation": "tanh"}], "learningRate": 0.03}""");
        var random = new Random(8);
        var csv = new StringBuilder("a,b,c,d,y\n");
        for (int i = 0; i < 300; i++)
        {
            double a = random.NextDouble(), b = random.NextDouble() * 10, c = random.NextDouble() - 5, d = random.NextDouble() * 2;
            csv.Append(CultureInfo.InvariantCulture, $"{a:F4},{b:F4},{c:F4},{d:F4},{3 * a + 0.2 * b - c + d * d:F4}\n");
        }
        var (status, frame) = await Upload(id, csv.ToString());
        Assert.Equal(200, status);
        Assert.Equal("regression", frame.GetProperty("task").GetProperty("kind").GetString());
        Assert.Equal(4, frame.GetProperty("csv").GetProperty("features").GetInt32());
        Assert.Equal(2, frame.GetProperty("csv").GetProperty("target").GetArrayLength());
        double untrained = frame.GetProperty("testLoss").GetDouble();
        var trained = await Train(id, 15);
        double loss = trained.GetProperty("testLoss").GetDouble();
        Assert.True(loss < 0.004, $"test loss {loss} (untrained {untrained})");
        // Step mode explains it: X holds the four columns.
        var trace = await Api.Ok(http, "POST", $"/api/sessions/{id}/explain");
        Assert.Equal(4, Api.Matrix(Api.Entry(trace, "X").GetProperty("value")).Cols);
    }

    [Theory]
    [InlineData("a,b,c,label\n1,2,3,x\n1,2,x\n1,2,3,4,y\n5,6,7,y\n",
        "the CSV has 2 bad lines:\nline 3: expected 4 comma-separated values (a, b, c, label) as line 1 has, but got 3\nline 4: expected 4 comma-separated values (a, b, c, label) as line 1 has, but got 5")]
    [InlineData("1,2,3,x\n\n1,2,y\n1,2,3,y\n",
        "the CSV has 1 bad line:\nline 3: expected 4 comma-separated values (x1, x2, x3, label) as line 1 has, but got 3")]
    [InlineData("a,b,c,d,label\n1,2,3,q,x\n",
        "the CSV has 1 bad line:\nline 2: d must be a number but got \"q\"")]
    [InlineData("1,a\n2,b\n",
        "line 1 has 2 comma-separated values, but the playground takes 2 to 16 numeric feature columns and a label column last (3 to 17 values a line)")]
    [InlineData("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,x\n",
        "line 1 has 18 comma-separated values, but the playground takes 2 to 16 numeric feature columns and a label column last (3 to 17 values a line)")]
    public async Task Wrong_column_counts_and_too_many_features_are_refused_by_line(string csv, string message)
    {
        string id = await NewSession();
        var (status, reply) = await Upload(id, csv);
        Assert.Equal(400, status);
        Assert.Equal(message, reply.GetProperty("error").GetString());
        // The session keeps its data.
        Assert.Equal("circle", (await Api.Ok(http, "GET", $"/api/sessions/{id}")).GetProperty("config").GetProperty("dataset").GetString());
    }

    [Fact]
    public async Task Sixteen_features_is_the_most_a_CSV_may_have()
    {
        string id = await NewSession("""{"layers": [{"neurons": 3, "activation": "relu"}]}""");
        var random = new Random(1);
        var csv = new StringBuilder();
        for (int i = 0; i < 20; i++)
            csv.Append(string.Join(",", Enumerable.Range(0, 16).Select(_ => random.Next(100)))).Append(i % 2 == 0 ? ",p\n" : ",q\n");
        var (status, frame) = await Upload(id, csv.ToString());
        Assert.Equal(200, status);
        Assert.Equal(16, frame.GetProperty("weights")[0].GetArrayLength());
        Assert.Equal("x16", frame.GetProperty("csv").GetProperty("columns")[15].GetString());
        // A picture over the last two columns.
        (status, frame) = await Reconfigure(id, frame, c => c["plot"] = new JsonArray(14, 15));
        Assert.Equal(200, status);
    }

    [Theory]
    [InlineData("""{"plot": [1, 1]}""", "plot must be two different column indices [across, up], each from 0 to 15, but got [1, 1]")]
    [InlineData("""{"plot": [0, 16]}""", "plot must be two different column indices [across, up], each from 0 to 15, but got [0, 16]")]
    [InlineData("""{"plot": "x1"}""", "plot must be two different column indices [across, up], each from 0 to 15, but got the string \"x1\"")]
    [InlineData("""{"plot": [0, 2]}""", "plot must name two of this data's 2 input columns (0 to 1) but got [0, 2]")]
    [InlineData("""{"dropout": 0.2}""", "dropout is set per hidden layer: give each layer its rate as layers[i].dropout (0 to 0.9)")]
    [InlineData("""{"layers": [{"neurons": 4}, {"neurons": 4, "dropout": 0.95}]}""", "layers[1].dropout must be a number from 0 to 0.9 but got the number 0.95")]
    [InlineData("""{"layers": [{"neurons": 4, "dropout": "half"}]}""", "layers[0].dropout must be a number from 0 to 0.9 but got the string \"half\"")]
    public async Task Bad_plot_pairs_and_dropout_rates_are_refused_with_what_was_expected(string config, string message)
    {
        var (status, reply) = await Api.Send(http, "POST", "/api/sessions", config);
        Assert.Equal(400, status);
        Assert.Equal(message, reply.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Each_hidden_layer_has_its_own_dropout_rate()
    {
        // One SGD step on one row: a unit that dropout zeroed passes no gradient, so the weights out of it (the next
        // matrix's row) and into it (this layer's column) keep their values; every other weight moves.
        string Config(float first, float second) => $$"""{"dataset": "gauss", "optimizer": "sgd", "learningRate": 1, "batchSize": 1, "features": ["x1", "x2"], "seed": 3, "layers": [{"neurons": 8, "activation": "tanh", "dropout": {{first}}}, {"neurons": 8, "activation": "tanh", "dropout": {{second}}}]}""";
        var firstOnly = await Api.Ok(http, "POST", "/api/sessions", Config(0.5f, 0));
        var secondOnly = await Api.Ok(http, "POST", "/api/sessions", Config(0, 0.5f));
        Assert.Equal([0.5f, 0f], firstOnly.GetProperty("config").GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("dropout").GetSingle()));
        Assert.Equal([0f, 0.5f], secondOnly.GetProperty("config").GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("dropout").GetSingle()));
        // Unchanged rows of weight matrix m (the inputs it takes from dropped units) after the step.
        async Task<int[]> FrozenRows(JsonElement before, int matrix)
        {
            var after = await Train(before.GetProperty("id").GetString()!, 1, 1);
            var w0 = before.GetProperty("weights")[matrix];
            var w1 = after.GetProperty("weights")[matrix];
            return [.. Enumerable.Range(0, w0.GetArrayLength()).Where(i => w0[i].GetRawText() == w1[i].GetRawText())];
        }
        var frozenByFirst = await FrozenRows(firstOnly, 1);     // W2's rows: layer 1's units
        var frozenBySecond = await FrozenRows(secondOnly, 2);   // W3's rows: layer 2's units
        Assert.NotEmpty(frozenByFirst);
        Assert.True(frozenByFirst.Length < 8, "some of layer 1's units should be kept");
        Assert.NotEmpty(frozenBySecond);
        Assert.True(frozenBySecond.Length < 8, "some of layer 2's units should be kept");
        // And the layer without dropout drops nothing: the other session's matrices move in every row.
        var firstOnlyAgain = await Api.Ok(http, "POST", "/api/sessions", Config(0.5f, 0));
        Assert.Empty(await FrozenRows(firstOnlyAgain, 2));
        var secondOnlyAgain = await Api.Ok(http, "POST", "/api/sessions", Config(0, 0.5f));
        Assert.Empty(await FrozenRows(secondOnlyAgain, 1));
        // A rate change is a new network: the config comes back as sent, in the frame and for the next PUT.
        string id = secondOnly.GetProperty("id").GetString()!;
        var (status, changed) = await Reconfigure(id, secondOnly, c => c["layers"]![0]!["dropout"] = 0.3);
        Assert.Equal(200, status);
        Assert.Equal([0.3f, 0.5f], changed.GetProperty("config").GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("dropout").GetSingle()));
        Assert.Equal(0, changed.GetProperty("step").GetInt64());
    }
}
