using Backprop.Nn;

namespace Backprop.Tests.Cli;

/// <summary><c>backprop summary</c> of models with the sequence layers, run in-process.</summary>
public sealed class SequenceSummaryCliTests
{
    [Fact]
    public void SummaryShowsTheSequenceLayersWithTheirShapesParametersAndCost()
    {
        const string spec = "embedding(65,32)-layernorm-lstm(64,layers=2)-gru(32,bidirectional)-attention(4,causal)-rmsnorm-gelu";
        var (code, stdout, _) = CliRunner.Run(["summary", "--model", spec, "--input", "16"]);
        Assert.Equal(0, code);
        Assert.Equal(ModelSummary.Of(ModelLanguage.Build(spec, [16]), [16]).ToString(), stdout);
        Assert.Contains(" 0  Embedding(65, 32)                        [N, 16, 32]   2,080          -\n", stdout);
        // LSTM: 4 gates × 64 × (32 + 64 + 2 biases) + 4 × 64 × (64 + 64 + 2); cost 2·16·256·(32+64) + 2·16·256·(64+64)
        Assert.Contains(" 2  LSTM(32→64, layers=2)                    [N, 16, 64]  58,368  1,835,008\n", stdout);
        Assert.Contains(" 4  MultiHeadAttention(64, heads=4, causal)  [N, 16, 64]  16,640    589,824\n", stdout);
    }

    [Fact]
    public void A_sequence_layer_on_flat_rows_is_a_one_line_error_with_carets()
    {
        var (code, _, stderr) = CliRunner.Run(["summary", "--model", "lstm(8)", "--input", "16"]);
        Assert.NotEqual(0, code);
        Assert.Equal(
            "backprop summary: error: model spec: lstm(8) (column 1) cannot be built for input [N, 16]: lstm needs a sequence input [N, T, F] but gets [N, 16]; put embedding(n,dim) or reshape(T,F) before it\n" +
            "  lstm(8)\n" +
            "  ^^^^^^^\n", stderr);
    }
}
