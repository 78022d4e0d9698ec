using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Backprop.Playground.Tests;

/// <summary>
/// The page's own data (CSV upload, several classes, regression), dropout and residual controls, and editing a link,
/// in headless Chromium.
/// </summary>
public sealed class DataBrowserTests(BrowserFixture fixture, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private static FilePayload Csv(string name, string text) => new() { Name = name, MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(text) };

    [ChromiumFact]
    public async Task An_uploaded_CSV_of_three_classes_trains_and_colours_the_boundary_one_colour_per_class()
    {
        var page = await fixture.NewPage("#features=x1,x2&lr=0.03");
        await page.SetInputFilesAsync("#csv-file", Csv("blobs.csv", DataApiTests.ThreeBlobs(80)));
        await page.WaitForFunctionAsync("() => window.playground.config.dataset === 'csv'");
        Assert.Equal(["setosa", "versicolor", "virginica"], await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('#class-legend .class-key')].map(e => e.textContent)"));
        Assert.Equal(3, await page.Locator("#network .node canvas[id^='n-out-']").CountAsync());
        Assert.Contains("blobs.csv: 240 rows, 2 features; petal length 6.747..93.75 → x1 −5..5, petal width -0.8701..0.9352 → x2 −5..5; species: 3 classes", await page.InnerTextAsync("#csv-info"));
        Assert.Contains("Not in the shared link", await page.InnerTextAsync("#csv-info"));
        // The link names the dataset, never its rows.
        string hash = await page.EvaluateAsync<string>("() => location.hash");
        Assert.Contains("dataset=csv", hash);
        Assert.DoesNotContain("setosa", hash);
        await page.ClickAsync("#play");
        await page.WaitForFunctionAsync("() => window.playground.frame.testAccuracy >= 0.97", null, new() { Timeout = 60_000, PollingInterval = 100 });
        await page.ClickAsync("#play");
        Assert.EndsWith("%", await page.InnerTextAsync("#test-acc"));
        await AssertEachClassColourCoversPartOfTheBoundary(page);
        await page.ScreenshotAsync(new() { Path = Path.Combine(AppContext.BaseDirectory, "playground-csv.png") });
        await page.CloseAsync();
    }

    /// <summary>The repository's Iris file (sepal and petal length and width, species), as it is embedded in the library.</summary>
    internal static string IrisCsv()
    {
        using var stream = typeof(Tensor).Assembly.GetManifestResourceStream("Backprop.Data.iris.csv")!;
        return new StreamReader(stream).ReadToEnd();
    }

    [ChromiumFact]
    public async Task The_four_feature_Iris_CSV_trains_on_all_four_pictured_over_the_chosen_pair()
    {
        var page = await fixture.NewPage("#layers=6:tanh,4:tanh&lr=0.01");
        await page.SetInputFilesAsync("#csv-file", Csv("iris.csv", IrisCsv()));
        await page.WaitForFunctionAsync("() => window.playground.config.dataset === 'csv'");
        Assert.Contains("iris.csv: 150 rows, 4 features; sepal_length 4.3..7.9, sepal_width 2..4.4, petal_length 1..6.9, petal_width 0.1..2.5 → −5..5 each; species: 3 classes",
            await page.InnerTextAsync("#csv-info"));
        // The inputs are the four columns; the plane's transforms are not offered, and the page says why.
        Assert.Equal(4, await page.Locator("#network canvas[id^='f-col-']").CountAsync());
        Assert.Equal(0, await page.Locator("#f-x1sq").CountAsync());
        Assert.Contains("offered for two-column data only", await page.InnerTextAsync("#inputs-legend"));
        Assert.Equal(4, await page.EvaluateAsync<int>("() => window.playground.frame.weights[0].length"));
        // The picture: the first two columns by default; pick the petals.
        Assert.True(await page.IsVisibleAsync("#plot-pick"));
        Assert.Equal("0", await page.InputValueAsync("#plot-across"));
        Assert.Equal("1", await page.InputValueAsync("#plot-up"));
        await page.SelectOptionAsync("#plot-up", "3");
        await page.WaitForFunctionAsync("() => window.playground.config.plot.join() === '0,3'");
        await page.SelectOptionAsync("#plot-across", "2");
        await page.WaitForFunctionAsync("() => window.playground.config.plot.join() === '2,3'");
        // Picking the up column for across swaps the two.
        await page.SelectOptionAsync("#plot-across", "3");
        await page.WaitForFunctionAsync("() => window.playground.config.plot.join() === '3,2'");
        await page.SelectOptionAsync("#plot-across", "2");
        await page.WaitForFunctionAsync("() => window.playground.config.plot.join() === '2,3'");
        Assert.Equal("petal_length across, petal_width up, the other features at their mean", await page.InnerTextAsync("#plane-axes"));
        Assert.Contains("The picture is a slice of the 4-feature input space: petal_length across, petal_width up, the other 2 held at their mean (sepal_length 5.843, sepal_width 3.057)",
            await page.InnerTextAsync("#output-legend"));
        Assert.Contains("plot=2%2C3", await page.EvaluateAsync<string>("() => location.hash"));
        await page.ClickAsync("#play");
        await page.WaitForFunctionAsync("() => window.playground.frame.testAccuracy >= 0.93 && window.playground.frame.step >= 500", null, new() { Timeout = 60_000, PollingInterval = 100 });
        await page.ClickAsync("#play");
        await AssertEachClassColourCoversPartOfTheBoundary(page);   // over the petals too
        await page.ScreenshotAsync(new() { Path = Path.Combine(AppContext.BaseDirectory, "playground-csv-features.png") });
        // A weight out of the fourth input (petal_width) can be edited.
        await page.DispatchEventAsync("#links path[data-name='W1[4,2]']", "click");
        Assert.Equal("W1[4,2]", await page.InnerTextAsync("#link-name"));
        await page.FillAsync("#link-value", "0.5");
        await page.ClickAsync("#link-set");
        await page.WaitForFunctionAsync("() => window.playground.frame.weights[0][3][1] === 0.5");
        await page.CloseAsync();
    }

    [ChromiumFact]
    public async Task A_bad_CSV_shows_its_bad_lines_and_the_page_keeps_its_data()
    {
        var page = await fixture.NewPage();
        await page.SetInputFilesAsync("#csv-file", Csv("bad.csv", "x1,x2,label\n1,2,a\n3,b,a\n"));
        await page.WaitForSelectorAsync("#error:not([hidden])");
        Assert.Equal("bad.csv: the CSV has 1 bad line:\nline 3: x2 must be a number but got \"b\"", await page.InnerTextAsync("#error"));
        Assert.Equal("circle", await page.EvaluateAsync<string>("() => window.playground.config.dataset"));
        await page.CloseAsync();
        // A link made on a CSV restores its settings and asks for the file again; its plotted pair of columns (which
        // the circle data has not got) goes back to x1, x2.
        page = await fixture.NewPage("#dataset=csv&layers=3:relu:d0.1&features=x1,x2&plot=2,3");
        Assert.StartsWith("this link was made on an uploaded CSV, which links do not carry", await page.InnerTextAsync("#error"));
        Assert.Equal("relu", await page.EvaluateAsync<string>("() => window.playground.config.layers[0].activation"));
        Assert.Equal(0.1f, await page.EvaluateAsync<float>("() => window.playground.config.layers[0].dropout"));
        Assert.Equal("0,1", await page.EvaluateAsync<string>("() => window.playground.config.plot.join()"));
        await page.CloseAsync();
    }

    [ChromiumFact]
    public async Task The_plane_regression_set_shows_a_continuous_heatmap_and_no_accuracy()
    {
        var page = await fixture.NewPage();
        await page.ClickAsync("#datasets button[data-dataset='plane']");
        await page.WaitForFunctionAsync("() => window.playground.frame.task.kind === 'regression'");
        Assert.True(await page.IsHiddenAsync("#accuracy"));
        Assert.Contains("output (linear)", await page.InnerTextAsync("#output-legend"));
        Assert.Equal("", await page.InnerTextAsync("#class-legend"));
        await page.ClickAsync("#play");
        await page.WaitForFunctionAsync("() => window.playground.frame.testLoss < 0.02", null, new() { Timeout = 60_000, PollingInterval = 100 });
        await page.ClickAsync("#play");
        // A plane: the heatmap runs from orange (bottom left, x1 + x2 < 0) to blue (top right).
        var corners = await page.EvaluateAsync<int[][]>(@"() => {
            const c = document.getElementById('output'), ctx = c.getContext('2d');
            return [[5, c.height - 5], [c.width - 5, 5]].map(([x, y]) => [...ctx.getImageData(x, y, 1, 1).data].slice(0, 3));
          }");
        Assert.True(corners[0][0] > corners[0][2] + 40, $"bottom left should be orange: {string.Join(",", corners[0])}");
        Assert.True(corners[1][2] > corners[1][0] + 40, $"top right should be blue: {string.Join(",", corners[1])}");
        await page.CloseAsync();
    }

    [ChromiumFact]
    public async Task Dropout_per_layer_and_a_residual_connection_are_set_on_the_page_and_restored_from_its_link()
    {
        var page = await fixture.NewPage("#layers=6:tanh,6:relu&features=x1,x2");
        // Each layer has its own rate, chosen under its activation.
        await page.SelectOptionAsync(".layer-head select.dropout[data-l='1']", "0.2");
        await page.WaitForFunctionAsync("() => window.playground.config.layers[1].dropout === 0.2");
        Assert.Equal(0f, await page.EvaluateAsync<float>("() => window.playground.config.layers[0].dropout"));
        await page.CheckAsync(".layer-head input.residual[data-l='1']");
        await page.WaitForFunctionAsync("() => window.playground.config.layers[1].residual === true");
        // The first layer has no skip (its input is the features).
        Assert.Equal(0, await page.Locator(".layer-head input.residual[data-l='0']").CountAsync());
        Assert.Contains("dropout on hidden layer 2", await page.EvaluateAsync<string>("() => window.playground.frame.unexplained"));
        await page.ClickAsync("#share");
        string url = await page.InputValueAsync("#share-url");
        Assert.Contains("layers=6%3Atanh%2C6%3Arelu%3Ar%3Ad0.2", url);
        Assert.DoesNotContain("drop=", url);
        var second = await fixture.Browser.NewPageAsync();
        await second.GotoAsync(url);
        await second.WaitForFunctionAsync("() => window.playground && window.playground.frame !== null");
        using (var restored = JsonDocument.Parse(await second.EvaluateAsync<string>("() => JSON.stringify(window.playground.config)")))
        {
            Assert.Equal(0f, restored.RootElement.GetProperty("layers")[0].GetProperty("dropout").GetSingle());
            Assert.Equal(0.2f, restored.RootElement.GetProperty("layers")[1].GetProperty("dropout").GetSingle());
            Assert.True(restored.RootElement.GetProperty("layers")[1].GetProperty("residual").GetBoolean());
        }
        Assert.True(await second.IsCheckedAsync(".layer-head input.residual[data-l='1']"));
        Assert.Equal("0", await second.InputValueAsync(".layer-head select.dropout[data-l='0']"));
        Assert.Equal("0.2", await second.InputValueAsync(".layer-head select.dropout[data-l='1']"));
        // Making layer 2 narrower breaks the skip, and the page drops it; the rate stays.
        await second.ClickAsync(".layer-head button[data-l='1'][data-d='-1']");
        await second.WaitForFunctionAsync("() => window.playground.config.layers[1].neurons === 5");
        Assert.False(await second.EvaluateAsync<bool>("() => window.playground.config.layers[1].residual"));
        Assert.Equal(0.2f, await second.EvaluateAsync<float>("() => window.playground.config.layers[1].dropout"));
        await page.CloseAsync();
        await second.CloseAsync();
        // A link from before dropout was per layer carries one rate for all: it restores as that rate on every layer.
        var old = await fixture.NewPage("#layers=6:tanh,5:relu,4:sigmoid&features=x1,x2&drop=0.3");
        Assert.Equal(new[] { 0.3f, 0.3f, 0.3f }, await old.EvaluateAsync<float[]>("() => window.playground.config.layers.map(l => l.dropout)"));
        Assert.Equal("0.3", await old.InputValueAsync(".layer-head select.dropout[data-l='2']"));
        Assert.False(await old.IsVisibleAsync("#error"));
        await old.ClickAsync("#share");
        Assert.Contains("layers=6%3Atanh%3Ad0.3%2C5%3Arelu%3Ad0.3%2C4%3Asigmoid%3Ad0.3", await old.InputValueAsync("#share-url"));
        await old.CloseAsync();
    }

    [ChromiumFact]
    public async Task Clicking_a_link_shows_its_gradient_as_a_chain_rule_product_and_sets_its_weight()
    {
        var page = await fixture.NewPage("#dataset=xor&layers=2:tanh,2:tanh&features=x1,x2&batch=3");
        // Click a quarter of the way along link W2[1,2] (hidden 1 → hidden 2), where no other link crosses.
        var at = await page.EvaluateAsync<double[]>(@"() => {
            const path = document.querySelector(""#links path[data-name='W2[1,2]']""), box = document.getElementById('links').getBoundingClientRect();
            const p = path.getPointAtLength(path.getTotalLength() / 4);
            return [box.left + p.x, box.top + p.y];
          }");
        await page.Mouse.MoveAsync((float)at[0], (float)at[1]);
        Assert.StartsWith("W2[1,2] = ", await page.InnerTextAsync("#tooltip"));
        await page.Mouse.ClickAsync((float)at[0], (float)at[1]);
        await page.WaitForFunctionAsync("() => document.getElementById('link-chain').textContent.includes('engine:')");
        Assert.Equal("W2[1,2]", await page.InnerTextAsync("#link-name"));
        string chain = await page.InnerTextAsync("#link-chain");
        Assert.Contains("∂E/∂W2[1,2] = W2_update[1,2] = (1/N)·Σ_rows L1_out[r,1]·L2_delta[r,2]", chain);
        Assert.Contains("= (1/3)·(", chain);
        // The product with the numbers plugged in equals the engine's gradient to the six decimals shown.
        var m = System.Text.RegularExpressions.Regex.Match(chain, @"= (-?\d+\.\d{6})   \(engine: (\S+)\)");
        Assert.True(m.Success, chain);
        Assert.Equal(double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 5);
        await page.FillAsync("#link-value", "0.5");
        await page.ClickAsync("#link-set");
        await page.WaitForFunctionAsync("() => window.playground.frame.weights[1][0][1] === 0.5");
        // The new weight is what the next forward pass uses: the session's step trace holds it.
        string session = await page.EvaluateAsync<string>("() => window.playground.session");
        using var http = new HttpClient { BaseAddress = fixture.Server.Url };
        var trace = await Api.Ok(http, "POST", $"/api/sessions/{session}/explain");
        Assert.Equal(0.5f, Api.Entry(trace, "W2").GetProperty("value")[0][1].GetSingle());
        await page.CloseAsync();
    }

    // The output canvas: each class's colour family covers more than 5% of the plane (orange: red channel highest,
    // blue: blue highest, green: green highest; blends with white keep the order).
    private async Task AssertEachClassColourCoversPartOfTheBoundary(IPage page)
    {
        var shares = await page.EvaluateAsync<double[]>(@"() => {
            const c = document.getElementById('output'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const n = [0, 0, 0];
            for (let i = 0; i < d.length; i += 4) {
              const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
              if (r > g + 10 && r > b + 10) n[0]++; else if (g > r + 10 && g > b + 10) n[1]++; else if (b > r + 10 && b > g + 10) n[2]++;
            }
            return n.map(k => k / (c.width * c.height));
          }");
        output.WriteLine($"colour shares (orange, green, blue): {string.Join(", ", shares.Select(s => s.ToString("F2")))}");
        Assert.All(shares, s => Assert.True(s > 0.05, $"a class colour covers only {s:P0} of the boundary heatmap"));
    }
}
