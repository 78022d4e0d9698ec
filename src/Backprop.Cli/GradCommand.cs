using Backprop.Explain;

namespace Backprop.Cli;

/// <summary><c>backprop grad "EXPR" x=1 y=2</c>: an expression's value and partial derivatives, through autograd.</summary>
internal sealed class GradCommand : ICommand
{
    public string Name => "grad";
    public string Summary => "value and partial derivatives of an expression, e.g. grad \"(x+y)*z\" x=-2 y=5 z=-4";
    public string Usage =>
        "usage: backprop grad \"EXPR\" NAME=VALUE ... [--json | --dot]\n\n" +
        "EXPR uses numbers, variables, + - * / ^, parentheses and exp, log, sigmoid, tanh, relu, abs, sqrt, max(a,b),\n" +
        "min(a,b). Each operation is a gate of the autograd engine: add distributes the gradient, mul swaps its\n" +
        "inputs, max routes it to the larger one.\n\n" +
        "  --json               print {\"value\": ..., \"gradients\": {\"x\": ..., ...}}\n" +
        "  --dot                print the circuit as Graphviz DOT with every node's value and gradient\n" +
        "                       (render it: backprop grad ... --dot | dot -Tsvg > circuit.svg)\n";

    public int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var cl = new CommandLine(args, [], ["json", "dot"]);
        if (cl.Positionals.Count == 0) throw new UsageException("give an expression, e.g. backprop grad \"(x+y)*z\" x=-2 y=5 z=-4.");
        if (cl.Has("json") && cl.Has("dot")) throw new UsageException("choose one of --json and --dot.");
        var result = Expression.Grad(cl.Positionals[0], Expression.ParseBindings(cl.Positionals.Skip(1)));
        Json.WriteLine(stdout, cl.Has("json") ? result.ToJson() : cl.Has("dot") ? GraphExport.ToDot(result.Root) : result.ToText());
        return 0;
    }
}
