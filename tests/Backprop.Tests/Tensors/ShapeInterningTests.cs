namespace Backprop.Tests.Tensors;

/// <summary>
/// The per-thread table of shapes that ops build (<c>Shapes.Interned</c>): one array per shape while it stays in the
/// table, always the right contents, also when many shapes push each other out.
/// </summary>
public sealed class ShapeInterningTests
{
    [Fact]
    public void EqualShapesShareOneArrayAndDifferentShapesDoNot()
    {
        var a = Shapes.Interned([12, 64, 128]);
        var b = Shapes.Interned([12, 64, 128]);
        var c = Shapes.Interned([12, 128, 64]);
        Assert.Same(a, b);
        Assert.NotSame(a, c);
        Assert.Equal([12, 64, 128], a);
        Assert.Equal([12, 128, 64], c);
        Assert.Empty(Shapes.Interned([]));
    }

    [Fact]
    public void ManyShapesAlwaysComeBackWithTheirOwnContents()
    {
        // Far more shapes than the table holds: displaced ones are made again, never confused with another.
        for (int round = 0; round < 2; round++)
            for (int i = 0; i < 5000; i++)
            {
                int[] expected = [i % 7 + 1, i, i * 3 % 11];
                Assert.Equal(expected, Shapes.Interned(expected));
            }
    }

    [Fact]
    public void WithLastAndAppendedBuildTheShapeAroundTheGivenOne()
    {
        Assert.Equal([4, 5, 9], Shapes.WithLast([4, 5, 6], 9));
        Assert.Equal([4, 5, 6, 2], Shapes.Appended([4, 5, 6], 2));
        Assert.Same(Shapes.WithLast([2, 3], 7), Shapes.Interned([2, 7]));
    }
}
