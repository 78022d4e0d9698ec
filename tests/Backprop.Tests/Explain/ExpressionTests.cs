using System.Text.Json;
using Backprop.Explain;

namespace Backprop.Tests.Explain;

/// <summary>The expression parser and its evaluation through the engine: seed 004's circuits from text.</summary>
public sealed class ExpressionTests
{
    private static Dictionary<string, float> Values(params (string Name, float Value)[] values) =>
        values.ToDictionary(v => v.Name, v => v.Value);

    [Fact]
    public void SeedCircuitGivesValueAndGradients()
    {
        var r = Expression.Parse("(x+y)*z").Evaluate(Values(("x", -2f), ("y", 5f), ("z", -4f)));
        Assert.Equal(-12f, r.Value);
        Assert.Equal(["x", "y", "z"], r.Gradients.Keys);
        Assert.Equal(-4f, r.Gradients["x"]);
        Assert.Equal(-4f, r.Gradients["y"]);
        Assert.Equal(3f, r.Gradients["z"]);
        Assert.Equal("mul", r.Root.Op);
        Assert.Equal("(x + y) * z", r.Root.Name);
        Assert.Equal("x + y", r.Root.Inputs[0].Name);
        Assert.Same(r.Variables["z"], r.Root.Inputs[1]);
    }

    [Fact]
    public void GradientsAreListedInOrderOfFirstAppearance()
    {
        var r = Expression.Grad("z*y + x", Values(("x", 1f), ("y", 2f), ("z", 3f)));
        Assert.Equal(["z", "y", "x"], r.Gradients.Keys);
        Assert.Equal(["z", "y", "x"], r.Expression.Variables);
    }

    [Fact]
    public void MaxGateRoutesTheGradientToTheLargerInput()
    {
        var r = Expression.Grad("2*max(x, y)", Values(("x", 4f), ("y", 9f)));
        Assert.Equal(18f, r.Value);
        Assert.Equal(0f, r.Gradients["x"]);
        Assert.Equal(2f, r.Gradients["y"]);

        var m = Expression.Grad("min(x, y)", Values(("x", 4f), ("y", 9f)));
        Assert.Equal(4f, m.Value);
        Assert.Equal(1f, m.Gradients["x"]);
        Assert.Equal(0f, m.Gradients["y"]);
    }

    [Fact]
    public void PowerAndFunctions()
    {
        Assert.Equal(6f, Expression.Grad("x^2", Values(("x", 3f))).Gradients["x"]);
        Assert.Equal(9f, Expression.Grad("x^2", Values(("x", 3f))).Value);

        var s = Expression.Grad("sigmoid(x)", Values(("x", 0.5f)));
        double sig = 1 / (1 + Math.Exp(-0.5));
        Assert.Equal(sig, s.Value, 1e-6);
        Assert.Equal(sig * (1 - sig), s.Gradients["x"], 1e-6);

        var t = Expression.Grad("tanh(x) + exp(x) + log(x) + sqrt(x) + abs(-x) + relu(x)", Values(("x", 2f)));
        Assert.Equal(Math.Tanh(2) + Math.Exp(2) + Math.Log(2) + Math.Sqrt(2) + 2 + 2, t.Value, 1e-4);
        Assert.Equal(1 - Math.Tanh(2) * Math.Tanh(2) + Math.Exp(2) + 0.5 + 0.5 / Math.Sqrt(2) + 1 + 1, t.Gradients["x"], 1e-4);

        var d = Expression.Grad("x / y", Values(("x", 3f), ("y", 2f)));
        Assert.Equal(1.5f, d.Value);
        Assert.Equal(0.5f, d.Gradients["x"]);
        Assert.Equal(-0.75f, d.Gradients["y"]);

        // Variable exponent: ∂(2^x)/∂x = 2^x·ln 2.
        Assert.Equal(8 * Math.Log(2), Expression.Grad("2^x", Values(("x", 3f))).Gradients["x"], 1e-5);
    }

    [Fact]
    public void VariableUsedTwiceAccumulates()
    {
        var r = Expression.Grad("x*x + x", Values(("x", 3f)));
        Assert.Equal(12f, r.Value);
        Assert.Equal(7f, r.Gradients["x"]);   // 2x + 1: both uses of the one leaf add up
    }

    [Theory]
    [InlineData("-x^2", -9.0)]          // -(x^2), as in math
    [InlineData("(-x)^2", 9.0)]
    [InlineData("2^3^2", 512.0)]        // right-associative: 2^(3^2)
    [InlineData("x - 1 - 1", 1.0)]      // left-associative
    [InlineData("12 / x / 2", 2.0)]
    [InlineData("1 + 2 * x", 7.0)]
    [InlineData("(1 + 2) * x", 9.0)]
    [InlineData("2^-1", 0.5)]
    [InlineData("--x", 3.0)]
    [InlineData("1.5e1 + .5 - 2E-1", 15.3)]
    [InlineData("x × 2 ÷ 3 − 1", 1.0)]  // the seeds' symbols
    public void PrecedenceAndAssociativity(string text, double expected)
    {
        var values = Expression.Parse(text).Variables.Count == 0 ? Values() : Values(("x", 3f));
        Assert.Equal(expected, Expression.Grad(text, values).Value, 1e-5);
    }

    [Theory]
    [InlineData("-x^2", "-x^2")]
    [InlineData("(-x)^2", "(-x)^2")]
    [InlineData("x-(y-z)", "x - (y - z)")]
    [InlineData("(x-y)-z", "x - y - z")]
    [InlineData("(x^y)^z", "(x^y)^z")]
    [InlineData("x^(y^z)", "x^y^z")]
    [InlineData("max( x ,y*2)", "max(x, y * 2)")]
    [InlineData("2^-x", "2^(-x)")]
    public void PrintsBackWithTheParenthesesPrecedenceNeeds(string text, string printed) =>
        Assert.Equal(printed, Expression.Parse(text).ToString());

    [Theory]
    [InlineData("(x + y))*z", 8, "unexpected ')' at position 8: expected an operator (+ - * / ^) or the end")]
    [InlineData("(x + y)*)", 9, "unexpected ')' at position 9: expected a number, a variable, a function call or '('")]
    [InlineData("(x + y", 7, "expected ')' to close the '(' at position 1 but found end of expression at position 7")]
    [InlineData("2x", 2, "unexpected name 'x' at position 2: expected an operator (+ - * / ^) or the end; write '*' for a product, e.g. 2*x")]
    [InlineData("x + foo(y)", 5, "unknown function 'foo' at position 5; known functions: abs, exp, log, max, min, relu, sigmoid, sqrt, tanh")]
    [InlineData("max(x)", 1, "max at position 1 takes 2 arguments but got 1")]
    [InlineData("x # y", 3, "unexpected '#' at position 3: expected an operator (+ - * / ^) or the end")]
    [InlineData("exp + 1", 1, "'exp' at position 1 is a function: write exp(...)")]
    [InlineData("   ", 1, "empty expression: expected a formula such as (x + y) * z")]
    public void ParseErrorsPointAtTheOffendingPosition(string text, int position, string reason)
    {
        var ex = Assert.Throws<ExpressionException>(() => Expression.Parse(text));
        Assert.Equal(position, ex.Position);
        Assert.Equal(reason, ex.Reason);
        Assert.Equal(text, ex.Expression);
        // Message: the reason, the expression indented by two, and a caret under the offending column.
        Assert.Equal($"{reason}\n  {text}\n{new string(' ', position + 1)}^", ex.Message);
    }

    [Fact]
    public void CaretSitsUnderTheOffendingCharacter()
    {
        var ex = Assert.Throws<ExpressionException>(() => Expression.Parse("(x + y))*z"));
        var lines = ex.Message.Split('\n');
        Assert.Equal(')', lines[1][lines[2].IndexOf('^')]);
    }

    [Fact]
    public void MissingAndUnknownVariablesAreNamed()
    {
        var expr = Expression.Parse("(x + y) * w");
        var missing = Assert.Throws<ExpressionException>(() => expr.Evaluate(Values(("x", 1f), ("y", 2f))));
        Assert.Equal("no value for variable 'w' at position 11; values were given for x, y; the expression's variables are x, y, w", missing.Reason);
        Assert.Equal(11, missing.Position);

        var unknown = Assert.Throws<ExpressionException>(() => expr.Evaluate(Values(("x", 1f), ("y", 2f), ("w", 3f), ("q", 4f))));
        Assert.Equal("a value was given for 'q', but the expression has no such variable; its variables are x, y, w", unknown.Reason);
        Assert.Equal(0, unknown.Position);
        Assert.DoesNotContain("^", unknown.Message);
    }

    [Fact]
    public void DeepNestingIsRefusedNotOverflowed()
    {
        var ex = Assert.Throws<ExpressionException>(() => Expression.Parse(new string('(', 5000) + "x" + new string(')', 5000)));
        Assert.StartsWith("expression is nested more than 200 levels deep", ex.Reason);
        Assert.Throws<ExpressionException>(() => Expression.Parse(string.Join("+", Enumerable.Repeat("x", 1000))));
    }

    [Fact]
    public void BindingsFromTheCommandLine()
    {
        var values = Expression.ParseBindings(["x=-2", "y=5", "z=-4e0"]);
        Assert.Equal(["x", "y", "z"], values.Keys);
        Assert.Equal(-4f, values["z"]);
        Assert.Equal(-12f, Expression.Grad("(x+y)*z", values).Value);

        var bad = Assert.Throws<ExpressionException>(() => Expression.ParseBindings(["x=abc"]));
        Assert.Equal("value of 'x' must be a number such as -2, 0.5 or 1e-3 but got 'abc'", bad.Reason);
        Assert.Equal(3, bad.Position);
        Assert.Throws<ExpressionException>(() => Expression.ParseBindings(["x"]));
        Assert.Throws<ExpressionException>(() => Expression.ParseBindings(["x=1", "x=2"]));
        Assert.Throws<ExpressionException>(() => Expression.ParseBindings(["2x=1"]));
    }

    [Fact]
    public void JsonHoldsValueAndGradientsInOrder()
    {
        var r = Expression.Grad("(x+y)*z", Values(("x", -2f), ("y", 5f), ("z", -4f)));
        Assert.Equal("{\"value\":-12,\"gradients\":{\"x\":-4,\"y\":-4,\"z\":3}}", r.ToJson());
        using var doc = JsonDocument.Parse(r.ToJson(indented: true));
        Assert.Equal(3f, doc.RootElement.GetProperty("gradients").GetProperty("z").GetSingle());

        var nan = Expression.Grad("log(x)", Values(("x", -1f)));
        Assert.Equal("{\"value\":null,\"gradients\":{\"x\":-1}}", nan.ToJson());
    }

    [Fact]
    public void TextListsValueThenPartials()
    {
        var r = Expression.Grad("(x+y)*z", Values(("x", -2f), ("y", 5f), ("z", -4f)));
        Assert.Equal("f = (x + y) * z = -12\n∂f/∂x = -4\n∂f/∂y = -4\n∂f/∂z = 3\n", r.ToText());
        Assert.Contains("∂f/∂z = 3.00\n", r.ToText(decimals: 2));
    }

    [Fact]
    public void ConstantExpressionHasAValueAndNoGradients()
    {
        var r = Expression.Grad("2 * (3 + 4)", Values());
        Assert.Equal(14f, r.Value);
        Assert.Empty(r.Gradients);
    }
}
