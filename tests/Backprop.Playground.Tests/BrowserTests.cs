using System.Globalization;
using System.Text.Json;
using Backprop.Explain;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Backprop.Playground.Tests;

/// <summary>The page in headless Chromium: what a learner clicks, and what the page then shows.</summary>
public sealed class BrowserTests(BrowserFixture fixture, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    [ChromiumFact]
    public async Task The_page_loads_with_the_network_drawn_and_nothing_fetched_from_elsewhere()
    {
        var page = await fixture.Browser.NewPageAsync();
        var foreign = new List<string>();
        page.Request += (_, r) => { if (!r.Url.StartsWith(fixture.Server.Url.ToString(), StringComparison.Ordinal)) foreign.Add(r.Url); };
        await page.GotoAsync(fixture.Server.Url.ToString());
        await page.WaitForFunctionAsync("() => window.playground && window.playground.frame !== null");
        Assert.Equal("Backprop playground", await page.TitleAsync());
        Assert.Empty(foreign);
        // One link per weight: 4 features → 8 → 8 → 4 → 1 is 32 + 64 + 32 + 4.
        Assert.Equal(132, await page.Locator("#links path").CountAsync());
        // One heatmap per feature (7), per hidden neuron (20) and the output's.
        Assert.Equal(28, await page.Locator("#network .node").CountAsync());
        float loss = float.Parse(await page.InnerTextAsync("#test-loss"), CultureInfo.InvariantCulture);
        Assert.InRange(loss, 0.05f, 2f);
        await page.CloseAsync();
    }

    [ChromiumFact]
    public async Task Spirals_train_on_the_page_until_it_shows_a_test_loss_below_0_1()
    {
        var page = await fixture.NewPage("#dataset=spiral");
        var requests = new List<string>();
        page.Request += (_, r) => requests.Add(r.Method + " " + new Uri(r.Url).AbsolutePath);
        var started = DateTime.UtcNow;
        await page.ClickAsync("#play");
        await page.WaitForFunctionAsync("() => parseFloat(document.getElementById('test-loss').textContent) < 0.1",
            null, new() { Timeout = 120_000, PollingInterval = 100 });
        double seconds = (DateTime.UtcNow - started).TotalSeconds;
        await page.WaitForFunctionAsync("() => window.playground.fps > 0", null, new() { Timeout = 10_000 });
        double fps = await page.EvaluateAsync<double>("() => window.playground.fps");
        string shot = Path.Combine(AppContext.BaseDirectory, "playground-spiral.png");
        await page.ScreenshotAsync(new() { Path = shot });
        output.WriteLine($"spirals on the page: test loss < 0.1 after {seconds:F1} s, {fps:F1} redraws/s; screenshot {shot}");
        await page.ClickAsync("#play");
        Assert.Equal("▶ Play", await page.InnerTextAsync("#play"));
        // Playing listens to the server's event stream, one request, instead of polling the train route.
        string session = await page.EvaluateAsync<string>("() => window.playground.session");
        Assert.Equal([$"GET /api/sessions/{session}/events"], requests);
        Assert.True(await page.EvaluateAsync<int>("() => window.playground.streamEvents") > 10);
        await page.CloseAsync();
    }

    [ChromiumFact]
    public async Task Step_mode_shows_W1_update_equal_to_StepTrace_on_the_page_s_own_numbers()
    {
        var page = await fixture.NewPage("#dataset=xor&layers=3:tanh&features=x1,x2&batch=4&opt=sgd&lr=0.1");
        await page.ClickAsync("#mode-step");
        // Step mode opens on the seed's Iris example (W1 4×2) at once: wait for that, then for this network's trace
        // (W1 2×3) to replace it, so no matrix is read from the one and the rest from the other.
        await page.WaitForSelectorAsync("table[data-name='W1_update']");
        await page.ClickAsync("#explain-step");
        await page.WaitForFunctionAsync(
            "() => { const w = document.querySelector(`table[data-name='W1_update']`), x = document.querySelector(`table[data-name='X'] tr`);" +
            " return w && x && w.rows.length === 2 && w.rows[0].cells.length === 3 && x.cells.length === 2; }");
        async Task<Tensor> Read(string name)
        {
            var rows = await page.EvaluateAsync<float[][]>(
                "n => [...document.querySelectorAll(`table[data-name='${n}'] tr`)].map(tr => [...tr.children].map(td => Number(td.title)))", name);
            return Tensor.FromArray(rows.SelectMany(r => r).ToArray(), rows.Length, rows[0].Length);
        }
        var expected = StepTrace.ForModel(await Read("X"), await Read("Y"),
            [new TraceLayer(await Read("W1"), await Read("b1"), "tanh"), new TraceLayer(await Read("W2"), await Read("b2"), "tanh")]);
        var shown = await Read("W1_update");
        Assert.Equal([2, 3], shown.Shape);
        Assert.Equal(expected["W1_update"].ToArray(), shown.ToArray());
        Assert.Contains(shown.ToArray(), v => MathF.Abs(v) > 1e-4f);
        // The step was taken: the Train view's counter moved to 1.
        Assert.Equal("1", await page.InnerTextAsync("#step-count"));
        // A click on an update cell writes it as its chain-rule product.
        await page.ClickAsync("table[data-name='W1_update'] td[data-r='1'][data-c='2']");
        string chain = await page.InnerTextAsync("#chain");
        Assert.Contains("W1_update[2,3] = (1/N)·Σ_rows X[r,2]·H_delta[r,3]", chain);
        Assert.Contains("(1/4)·(", chain);
        await page.CloseAsync();
    }

    [ChromiumFact]
    public async Task The_seed_example_is_one_click_away_and_shows_the_seed_s_numbers()
    {
        var page = await fixture.NewPage();
        await page.ClickAsync("#mode-step");
        await page.ClickAsync("#seed-example");
        await page.WaitForSelectorAsync("table[data-name='H_delta']");
        var trace = SeedExample.Trace();
        foreach (string name in new[] { "H_in", "H_out", "O_in", "O_out", "O_error", "O_delta", "W2_update", "H_error", "H_delta", "W1_update" })
        {
            var cells = await page.EvaluateAsync<float[]>(
                "n => [...document.querySelectorAll(`table[data-name='${n}'] td`)].map(td => Number(td.title))", name);
            Assert.Equal(trace[name].ToArray(), cells);
        }
        // As the seed prints them: O_out's first row 0.62 0.38 0.64 (the page shows three decimals) and W2_update's
        // 0.023 0.003 0.020.
        var oOut = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll(`table[data-name='O_out'] tr:first-child td`)].map(td => td.textContent)");
        Assert.Equal([0.62, 0.38, 0.64], oOut.Select(t => Math.Round(double.Parse(t, CultureInfo.InvariantCulture), 2)));
        var w2 = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll(`table[data-name='W2_update'] tr:first-child td`)].map(td => td.textContent)");
        Assert.Equal(["0.023", "0.003", "0.020"], w2);
        await page.CloseAsync();
    }

    [ChromiumFact]
    public async Task A_shared_URL_restores_the_setup_in_a_new_tab()
    {
        var page = await fixture.NewPage();
        await page.ClickAsync("#datasets button[data-dataset='xor']");
        await page.WaitForFunctionAsync("() => window.playground.config.dataset === 'xor'");
        await page.ClickAsync(".layer-head button[data-l='0'][data-d='1']");          // layer 1: 8 → 9 neurons
        await page.WaitForFunctionAsync("() => window.playground.config.layers[0].neurons === 9");
        await page.SelectOptionAsync(".layer-head select[data-l='1']", "relu");
        await page.WaitForFunctionAsync("() => window.playground.config.layers[1].activation === 'relu'");
        await page.SelectOptionAsync("#optimizer", "momentum");
        await page.WaitForFunctionAsync("() => window.playground.config.optimizer === 'momentum'");
        await page.ClickAsync("#f-x1x2");                                              // add the x1·x2 feature
        await page.WaitForFunctionAsync("() => window.playground.config.features.includes('x1x2')");
        await page.ClickAsync("#share");
        string url = await page.InputValueAsync("#share-url");
        string before = await page.EvaluateAsync<string>("() => JSON.stringify(window.playground.config)");

        var second = await fixture.Browser.NewPageAsync();
        await second.GotoAsync(url);
        await second.WaitForFunctionAsync("() => window.playground && window.playground.frame !== null");
        string after = await second.EvaluateAsync<string>("() => JSON.stringify(window.playground.config)");
        Assert.Equal(before, after);
        using var restored = JsonDocument.Parse(after);
        Assert.Equal("xor", restored.RootElement.GetProperty("dataset").GetString());
        Assert.Equal(9, restored.RootElement.GetProperty("layers")[0].GetProperty("neurons").GetInt32());
        Assert.Equal(["x1", "x2", "x1x2", "sinx1", "sinx2"], restored.RootElement.GetProperty("features").EnumerateArray().Select(f => f.GetString()));
        // Two tabs, two sessions.
        Assert.NotEqual(await page.EvaluateAsync<string>("() => window.playground.session"), await second.EvaluateAsync<string>("() => window.playground.session"));
        await page.CloseAsync();
        await second.CloseAsync();
    }

    [ChromiumFact]
    public async Task Circuit_mode_draws_the_gates_with_Expression_s_gradients()
    {
        var page = await fixture.NewPage("#mode=circuit");
        await page.ClickAsync("button.example[data-expression='max(x, y) * z']");
        await page.WaitForFunctionAsync("() => window.playground.circuit && window.playground.circuit.expression === 'max(x, y) * z'");
        var expected = Expression.Grad("max(x, y) * z", new Dictionary<string, float> { ["x"] = 2, ["y"] = -1, ["z"] = 3 });
        foreach (var (name, g) in expected.Gradients)
            Assert.Equal(g, await page.EvaluateAsync<float>($"() => window.playground.circuit.gradients['{name}']"));
        // The gates are drawn: max and ×, and the numerical table has a row per Δx for each variable.
        var ops = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('#circuit circle + text')].map(t => t.textContent)");
        Assert.Equal(["max", "×"], ops);
        Assert.Equal(3 * 7, await page.Locator("#numerical tr td:first-child").CountAsync());
        await page.CloseAsync();
    }
}
