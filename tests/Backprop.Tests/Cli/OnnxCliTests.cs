using Backprop.IO;
using Backprop.Nn;

namespace Backprop.Tests.Cli;

/// <summary><c>backprop export</c> and <c>backprop import</c>, run as a user runs them.</summary>
public sealed class OnnxCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-onnx-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private string In(string name) => Path.Combine(dir, name);

    [Fact]
    public void ExportedAndReimportedModelPredictsTheSame()
    {
        Assert.Equal(0, Run("train", "--save", In("iris.safetensors"), "--epochs", "20").Code);
        var (code, stdout, stderr) = Run("export", "--model", In("iris.safetensors"), "--onnx", In("iris.onnx"));
        Assert.True(code == 0, stderr);
        Assert.Equal($"wrote {In("iris.onnx")}: ONNX opset 17, input [batch, 4] of raw features (standardized inside the graph)\n", stdout);

        (code, stdout, stderr) = Run("import", "--onnx", In("iris.onnx"), "--save", In("back.safetensors"));
        Assert.True(code == 0, stderr);
        Assert.Equal($"imported {In("iris.onnx")}: Sequential(Dense(4→100) → ReLU → Dense(100→3)), 803 parameters\nsaved   {In("back.safetensors")}\n", stdout);

        File.WriteAllText(In("x.csv"), "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.3,3.3,6.0,2.5\n5.9,3.0,4.2,1.5\n");
        var original = Run("predict", "--model", In("iris.safetensors"), "--data", In("x.csv"));
        var imported = Run("predict", "--model", In("back.safetensors"), "--data", In("x.csv"));
        Assert.Equal(0, imported.Code);
        Assert.Equal(original.Out, imported.Out);
    }

    [Fact]
    public void ImageModelTakesItsShapeFromInput()
    {
        new Sequential(new Conv2d(1, 2, 3), new Relu(), new Flatten(), new Dense(2 * 4 * 4, 3)).Save(In("cnn.safetensors"));
        var (code, _, stderr) = Run("export", "--model", In("cnn.safetensors"), "--onnx", In("cnn.onnx"));
        Assert.Equal(2, code);
        Assert.StartsWith($"backprop export: cannot tell the input shape of {In("cnn.safetensors")} from its first layer, Conv2d(1→2, 3×3); give --input SHAPE (e.g. 1x28x28).\n", stderr);

        var ok = Run("export", "--model", In("cnn.safetensors"), "--onnx", In("cnn.onnx"), "--input", "1x6x6");
        Assert.Equal($"wrote {In("cnn.onnx")}: ONNX opset 17, input [batch, 1, 6, 6]\n", ok.Out);

        (code, _, stderr) = Run("export", "--model", In("cnn.safetensors"), "--onnx", In("cnn.onnx"), "--input", "1x2x2");
        Assert.Equal(1, code);
        Assert.Equal("backprop export: error: the model does not take examples of shape [1, 2, 2]: Conv2d(1→2, 3×3) expected an image of at least 3×3 after padding but got [1,1,2,2].\n", stderr);
    }

    [Fact]
    public void LayerWithoutOnnxEquivalentIsNamed()
    {
        ModuleSpec.Register("onnx_cli_doubler", _ => new Doubler());
        new Sequential(new Dense(2, 2), new Doubler()).Save(In("custom.safetensors"));
        var (code, _, stderr) = Run("export", "--model", In("custom.safetensors"), "--onnx", In("custom.onnx"));
        Assert.Equal(1, code);
        Assert.StartsWith("backprop export: error: cannot export Doubler at '1' to ONNX: Backprop has no ONNX equivalent for Doubler; the exportable layers are Dense,", stderr);
        Assert.False(File.Exists(In("custom.onnx")));
    }

    [Theory]
    [InlineData("export --model m.safetensors", "backprop export: --onnx OUT.onnx is required (the file to write).")]
    [InlineData("export --onnx o.onnx", "backprop export: --model FILE is required (a .safetensors file written by 'backprop train').")]
    [InlineData("export --model m.safetensors --onnx o.onnx --input 4x0", "backprop export: --input expects a shape like 784 or 1x28x28 (positive sizes joined by 'x') but got '4x0'.")]
    [InlineData("import --save o.safetensors", "backprop import: --onnx FILE.onnx is required (the model to read).")]
    [InlineData("import --onnx m.onnx", "backprop import: --save OUT.safetensors is required (the model file to write).")]
    [InlineData("import --onnx m.onnx --save o.safetensors extra", "backprop import: unexpected argument 'extra'.")]
    public void UsageMistakesGetOneLine(string args, string message)
    {
        new Sequential(new Dense(4, 2)).Save(In("m.safetensors"));
        File.WriteAllBytes(In("m.onnx"), Backprop.Onnx.OnnxExport.ToBytes(new Sequential(new Dense(4, 2)), null, [4]));
        var cwd = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = dir;
            var (code, _, stderr) = Run(args.Split(' '));
            Assert.Equal(2, code);
            Assert.Equal(message, stderr.Split('\n')[0]);
        }
        finally { Environment.CurrentDirectory = cwd; }
    }

    [Fact]
    public void FileThatIsNotOnnxIsOneLine()
    {
        File.WriteAllText(In("data.csv"), "a,b\n1,2\n");
        var (code, _, stderr) = Run("import", "--onnx", In("data.csv"), "--save", In("o.safetensors"));
        Assert.Equal(1, code);
        Assert.Equal($"backprop import: error: {In("data.csv")}: the file ends inside a 64-bit value at byte 1; it is truncated.\n", stderr);
        Assert.False(File.Exists(In("o.safetensors")));

        (code, _, stderr) = Run("import", "--onnx", In("missing.onnx"), "--save", In("o.safetensors"));
        Assert.Equal(1, code);
        Assert.Equal($"backprop import: error: ONNX file '{In("missing.onnx")}' does not exist.\n", stderr);
    }

    [Fact]
    public void OutputThatIsAFolderIsRefusedBeforeWork()
    {
        new Sequential(new Dense(4, 2)).Save(In("m.safetensors"));
        Directory.CreateDirectory(In("out"));
        var (code, _, stderr) = Run("export", "--model", In("m.safetensors"), "--onnx", In("out"));
        Assert.Equal(2, code);
        Assert.StartsWith("backprop export: --onnx ", stderr);
        Assert.Contains("is a folder, but --onnx names a file", stderr);
    }

    private sealed class Doubler : Module
    {
        public override Tensor Forward(Tensor input) => input * 2f;
    }
}
