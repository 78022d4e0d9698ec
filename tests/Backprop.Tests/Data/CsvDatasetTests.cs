using Backprop.Data;

namespace Backprop.Tests.Data;

public sealed class CsvDatasetTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-csv-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void LoadsClassificationWithSortedLabels()
    {
        var path = Write("flowers.csv", "a,label,b\n1.5,rose,2\n-3e-1,daisy,4\n0,rose,6\n\n\n");
        var d = CsvDataset.Load(path, "label");
        Assert.Equal("flowers", d.Name);
        Assert.Equal(["a", "b"], d.FeatureNames);
        Assert.Equal([1.5f, 2f, -0.3f, 4f, 0f, 6f], d.Features.ToArray());
        Assert.Equal(["daisy", "rose"], d.ClassNames!);
        Assert.Equal([1f, 0f, 1f], d.Targets.ToArray());
    }

    [Fact]
    public void NumericTargetIsRegressionUnlessClassificationIsAsked()
    {
        var path = Write("r.csv", "x,y\n1,10\n2,2\n3,2.5\n");
        var reg = CsvDataset.Load(path, "y");
        Assert.False(reg.IsClassification);
        Assert.Equal([3, 1], reg.Targets.Shape);
        Assert.Equal([10f, 2f, 2.5f], reg.Targets.ToArray());

        var cls = CsvDataset.Load(path, "y", classification: true);
        Assert.Equal(["2", "2.5", "10"], cls.ClassNames!); // numeric labels sort by value
        Assert.Equal([2f, 0f, 1f], cls.Targets.ToArray());
    }

    [Fact]
    public void TextTargetWithRegressionForcedNamesTheValue()
    {
        var path = Write("r.csv", "x,y\n1,10\n2,ten\n");
        var ex = Assert.Throws<DataFormatException>(() => CsvDataset.Load(path, "y", classification: false));
        Assert.Equal($"{path} line 3, column 'y': 'ten' is not a number", ex.Message);
    }

    [Fact]
    public void QuotedFieldsMayHoldCommasQuotesAndNewlines()
    {
        var path = Write("q.csv", "\"len, cm\",kind\r\n1.25,\"a, \"\"big\"\" one\"\r\n2, \"two\nlines\" \r\n3,plain\r\n");
        var d = CsvDataset.Load(path, "kind");
        Assert.Equal(["len, cm"], d.FeatureNames);
        Assert.Equal([1.25f, 2f, 3f], d.Features.ToArray());
        Assert.Equal(["a, \"big\" one", "plain", "two\nlines"], d.ClassNames!);
        Assert.Equal([0f, 2f, 1f], d.Targets.ToArray());
    }

    [Fact]
    public void BadNumberNamesFileLineAndColumn()
    {
        var path = Write("data.csv", "petal_length,petal_width,species\n1,2,a\n3,abc,b\n");
        var ex = Assert.Throws<DataFormatException>(() => CsvDataset.Load(path, "species"));
        Assert.Equal($"{path} line 3, column 'petal_width': 'abc' is not a number", ex.Message);
        Assert.Equal(path, ex.File);
        Assert.Equal(3, ex.Line);
        Assert.Equal("petal_width", ex.Column);
    }

    [Fact]
    public void LineNumbersCountBlankLinesAndQuotedLineBreaks()
    {
        var path = Write("data.csv", "x,y\n1,\"a\nb\"\n\n2,c\nnope,d\n");
        var ex = Assert.Throws<DataFormatException>(() => CsvDataset.Load(path, "y"));
        Assert.Equal($"{path} line 6, column 'x': 'nope' is not a number", ex.Message);
    }

    [Fact]
    public void EmptyAndNonFiniteValuesAreNamed()
    {
        var empty = Write("e.csv", "x,y\n,a\n");
        Assert.Equal($"{empty} line 2, column 'x': '' is empty; expected a number",
            Assert.Throws<DataFormatException>(() => CsvDataset.Load(empty, "y")).Message);
        var nan = Write("n.csv", "x,y\nNaN,a\n");
        Assert.Equal($"{nan} line 2, column 'x': 'NaN' is not a finite number",
            Assert.Throws<DataFormatException>(() => CsvDataset.Load(nan, "y")).Message);
        var noTarget = Write("t.csv", "x,y\n1,a\n2,\n");
        Assert.Equal($"{noTarget} line 3, column 'y': the target is empty.",
            Assert.Throws<DataFormatException>(() => CsvDataset.Load(noTarget, "y")).Message);
    }

    [Fact]
    public void WrongFieldCountNamesLineAndCounts()
    {
        var lines = new List<string> { "a,b,c,d,label" };
        for (int i = 0; i < 7; i++) lines.Add("1,2,3,4,x");
        lines.Add("1,2,3,x");
        var path = Write("data.csv", string.Join("\n", lines));
        var ex = Assert.Throws<DataFormatException>(() => CsvDataset.Load(path, "label"));
        Assert.Equal($"{path} line 9: expected 5 fields but found 4.", ex.Message);
        Assert.Equal(9, ex.Line);
    }

    [Fact]
    public void MissingTargetColumnListsTheColumns()
    {
        var path = Write("data.csv", "sepal_length,species\n1,a\n");
        var ex = Assert.Throws<DataFormatException>(() => CsvDataset.Load(path, "class"));
        Assert.Equal($"{path}: target column 'class' not found; the columns are 'sepal_length', 'species'.", ex.Message);
    }

    [Fact]
    public void EmptyHeaderOnlyAndMissingFilesAreExplained()
    {
        var empty = Write("empty.csv", "\n\n");
        Assert.Equal($"{empty} is empty: expected a header row naming the columns.",
            Assert.Throws<DataFormatException>(() => CsvDataset.Load(empty, "y")).Message);
        var header = Write("header.csv", "x,y\n");
        Assert.Equal($"{header} has a header but no data rows.",
            Assert.Throws<DataFormatException>(() => CsvDataset.Load(header, "y")).Message);
        var missing = Path.Combine(dir, "nope.csv");
        var ex = Assert.Throws<FileNotFoundException>(() => CsvDataset.Load(missing, "y"));
        Assert.Equal(missing, ex.FileName);
        Assert.Contains(missing, ex.Message);
    }

    [Fact]
    public void MalformedQuotingIsReported()
    {
        var open = Write("o.csv", "x,y\n1,\"never closed\n2,b\n");
        Assert.Equal($"{open} line 2: a quoted field is not closed (missing '\"').",
            Assert.Throws<DataFormatException>(() => CsvDataset.Load(open, "y")).Message);
        var trailing = Write("t.csv", "x,y\n1,\"a\"b\n");
        Assert.StartsWith($"{trailing} line 2: unexpected 'b' after the closing quote",
            Assert.Throws<DataFormatException>(() => CsvDataset.Load(trailing, "y")).Message);
        var dup = Write("d.csv", "x,y,x\n1,2,3\n");
        Assert.Equal($"{dup} line 1: column name 'x' appears twice (columns 1 and 3).",
            Assert.Throws<DataFormatException>(() => CsvDataset.Load(dup, "y")).Message);
    }

    [Fact]
    public void IrisRoundTripsThroughSaveAndLoad()
    {
        var iris = Datasets.Iris();
        var path = Path.Combine(dir, "iris.csv");
        CsvDataset.Save(path, iris, "species");
        var lines = File.ReadAllLines(path);
        Assert.Equal("sepal_length,sepal_width,petal_length,petal_width,species", lines[0]);
        Assert.Equal("5.1,3.5,1.4,0.2,setosa", lines[1]);
        Assert.Equal(151, lines.Length);

        var back = CsvDataset.Load(path, "species");
        Assert.Equal(iris.Features.ToArray(), back.Features.ToArray());
        Assert.Equal(iris.Targets.ToArray(), back.Targets.ToArray());
        Assert.Equal(iris.FeatureNames, back.FeatureNames);
        Assert.Equal(iris.ClassNames!, back.ClassNames!);

        var again = Path.Combine(dir, "again.csv");
        CsvDataset.Save(again, back, "species");
        Assert.Equal(File.ReadAllText(path), File.ReadAllText(again));
    }

    [Fact]
    public void RegressionAndAwkwardNamesRoundTripExactly()
    {
        float[] x = [0.1f, 1e-7f, -3.4028235e38f, 123456.79f, float.Epsilon, -0f];
        var data = new Dataset(Tensor.FromArray(x, 3, 2), Tensor.FromArray([1f / 3f, -2.5f, 7f], 3, 1),
            ["a,b", " padded \"q\""], name: "tricky");
        var path = Path.Combine(dir, "tricky.csv");
        CsvDataset.Save(path, data, "value");
        var back = CsvDataset.Load(path, "value");
        Assert.Equal(data.FeatureNames, back.FeatureNames);
        Assert.Equal(x, back.Features.ToArray());
        Assert.Equal(data.Targets.ToArray(), back.Targets.ToArray());
        Assert.False(back.IsClassification);
    }

    [Fact]
    public void SaveRejectsClashingOrMultipleTargets()
    {
        var path = Path.Combine(dir, "x.csv");
        Assert.Contains("same name as a feature column",
            Assert.Throws<ArgumentException>(() => CsvDataset.Save(path, Datasets.Xor(), "x1")).Message);
        var wide = new Dataset(Tensor.Zeros(2, 1), Tensor.Zeros(2, 2), name: "wide");
        Assert.Contains("one target column, but dataset 'wide' has targets [2,2]",
            Assert.Throws<ArgumentException>(() => CsvDataset.Save(path, wide)).Message);
    }

    [Fact]
    public void ReadFeaturesTakesNamedColumnsInTheGivenOrder()
    {
        var path = Write("predict.csv", "id,b,a\n7,2,1\n8,4,3\n");
        var x = CsvDataset.ReadFeatures(path, ["a", "b"]);
        Assert.Equal([2, 2], x.Shape);
        Assert.Equal([1f, 2f, 3f, 4f], x.ToArray());
    }

    [Fact]
    public void ReadFeaturesReportsMissingColumnsAndBadValues()
    {
        var path = Write("predict.csv", "a,b\n1,2\n3,x\n");
        Assert.Equal($"{path}: feature column 'c' not found; the columns are 'a', 'b'.",
            Assert.Throws<DataFormatException>(() => CsvDataset.ReadFeatures(path, ["a", "c"])).Message);
        Assert.Equal($"{path} line 3, column 'b': 'x' is not a number",
            Assert.Throws<DataFormatException>(() => CsvDataset.ReadFeatures(path, ["b"])).Message);
    }
}
