using Microsoft.Playwright;

namespace Backprop.Playground.Tests;

/// <summary>A test that needs Debian's chromium; skipped, saying why, where it is not installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Path = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Path)) Skip = $"browser test skipped: {Path} is not installed (apt-get install -y chromium)";
    }
}

/// <summary>
/// A playground server and headless Chromium driven by Microsoft.Playwright through its executable path (Playwright
/// cannot download its own browsers here; its driver ships inside the NuGet package).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? playwright;

    internal PlaygroundServer Server { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await PlaygroundServer.StartAsync(0, new PlaygroundLimits { MaxSessions = 100 });
        if (!File.Exists(ChromiumFactAttribute.Path)) return;
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumFactAttribute.Path,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            Headless = true,
        });
    }

    public async Task<IPage> NewPage(string hash = "")
    {
        var page = await Browser.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 900 } });
        await page.GotoAsync(new Uri(Server.Url, "/" + hash).ToString());
        // The page is ready once its session's first frame is drawn.
        await page.WaitForFunctionAsync("() => window.playground && window.playground.frame !== null");
        return page;
    }

    public async Task DisposeAsync()
    {
        if (playwright is not null)
        {
            await Browser.CloseAsync();
            playwright.Dispose();
        }
        await Server.DisposeAsync();
    }
}
