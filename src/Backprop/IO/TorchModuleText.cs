using System.Globalization;
using Backprop.Nn;

namespace Backprop.IO;

/// <summary>A Backprop model as the PyTorch (Python) expression of the equivalent module, e.g. <c>nn.Sequential(nn.Linear(4, 16), nn.Tanh())</c>.</summary>
internal static class TorchModuleText
{
    /// <summary>The expression, or null when a layer has no PyTorch counterpart here (a custom module).</summary>
    public static string? Of(Module module) => module switch
    {
        Sequential s => s.Layers.Select(Of).ToList() is var parts && parts.All(p => p is not null) ? $"nn.Sequential({string.Join(", ", parts)})" : null,
        Dense d => $"nn.Linear({d.InFeatures}, {d.OutFeatures}{(d.Bias is null ? ", bias=False" : "")})",
        Conv2d c => $"nn.Conv2d({c.InChannels}, {c.OutChannels}, {c.KernelSize}{(c.Stride != 1 ? $", stride={c.Stride}" : "")}" +
                    $"{(c.Padding != 0 ? $", padding={c.Padding}" : "")}{(c.Bias is null ? ", bias=False" : "")})",
        MaxPool2d p => $"nn.MaxPool2d({p.KernelSize}{(p.Stride != p.KernelSize ? $", stride={p.Stride}" : "")})",
        AvgPool2d p => $"nn.AvgPool2d({p.KernelSize}{(p.Stride != p.KernelSize ? $", stride={p.Stride}" : "")})",
        BatchNorm1d b => Norm("BatchNorm1d", b),
        BatchNorm2d b => Norm("BatchNorm2d", b),
        Relu => "nn.ReLU()",
        Tanh => "nn.Tanh()",
        Sigmoid => "nn.Sigmoid()",
        LeakyRelu l => l.Slope == 0.01f ? "nn.LeakyReLU()" : $"nn.LeakyReLU({Num(l.Slope)})",
        Softmax => "nn.Softmax(dim=-1)",
        Identity => "nn.Identity()",
        Flatten => "nn.Flatten()",
        Dropout d => $"nn.Dropout({Num(d.P)})",
        Reshape r => $"nn.Unflatten(1, ({string.Join(", ", r.SampleShape)}{(r.SampleShape.Count == 1 ? "," : "")}))",
        _ => null,
    };

    private static string Norm(string type, BatchNorm b) =>
        $"nn.{type}({b.Features}{(b.Eps != 1e-5f ? $", eps={Num(b.Eps)}" : "")}{(b.Momentum != 0.1f ? $", momentum={Num(b.Momentum)}" : "")}{(b.Affine ? "" : ", affine=False")})";

    private static string Num(float v) => v.ToString("R", CultureInfo.InvariantCulture);
}
