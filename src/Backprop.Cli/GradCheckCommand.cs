using System.Globalization;
using System.Text.Json.Nodes;
using Backprop.Explain;

namespace Backprop.Cli;

/// <summary><c>backprop gradcheck</c>: every differentiable op against central finite differences.</summary>
internal sealed class GradCheckCommand : ICommand
{
    public string Name => "gradcheck";
    public string Summary => "check every op's gradient against central finite differences";
    public string Usage =>
        "usage: backprop gradcheck [--json]\n\n" +
        "Runs each differentiable op (and small models) on seeded inputs, compares autograd's gradient with\n" +
        "(f(x+h) − f(x−h)) / 2h, and prints the worst relative error per op. Exit code 1 if any exceeds its tolerance.\n" +
        "  --json               print one JSON object\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, [], ["json"]);
        if (cl.Positionals.Count > 0) throw new UsageException($"unexpected argument '{cl.Positionals[0]}'.");
        var outcomes = GradCheck.RunSuite();
        int failed = outcomes.Count(o => !o.Passed);
        if (cl.Has("json"))
        {
            var ops = new JsonObject();
            foreach (var o in outcomes)
                ops[o.Name] = new JsonObject
                {
                    ["worst_relative_error"] = o.Result.WorstRelativeError,
                    ["tolerance"] = o.Tolerance,
                    ["passed"] = o.Passed,
                    ["where"] = o.Result.Location,
                };
            stdout.WriteLine(Json.Write(new JsonObject { ["checks"] = outcomes.Count, ["failed"] = failed, ["ops"] = ops }));
        }
        else
        {
            int width = outcomes.Max(o => o.Name.Length);
            stdout.WriteLine($"{"op".PadRight(width)}  worst rel. error  tolerance  result");
            foreach (var o in outcomes)
                stdout.WriteLine($"{o.Name.PadRight(width)}  {E(o.Result.WorstRelativeError),16}  {E(o.Tolerance),9}  {(o.Passed ? "ok" : "FAIL at " + o.Result.Location)}");
            stdout.WriteLine(failed == 0
                ? $"all {outcomes.Count} gradient checks passed"
                : $"{failed} of {outcomes.Count} gradient checks FAILED");
        }
        return failed == 0 ? 0 : 1;
    }

    private static string E(double v) => v.ToString("0.0e+00", CultureInfo.InvariantCulture);
}
