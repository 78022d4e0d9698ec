using System.Text.Json.Nodes;
using Backprop.Data;
using Backprop.Nn;
using Backprop.Optim;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// Checkpoints and resuming: an interrupted run, resumed, ends bit-identical to one never interrupted; a failed
/// write leaves the previous checkpoint whole; resuming another model is refused by name.
/// </summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("backprop-ckpt-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Adds training-time noise from its own generator and counts its forward calls in a buffer.</summary>
    private sealed class Noise(int width, long seed) : Module
    {
        private readonly Rng rng = new(seed);
        private readonly Tensor calls = Tensor.Zeros(1);

        public override Tensor Forward(Tensor input)
        {
            if (!IsTraining) return input;
            calls.AsSpan()[0]++;
            var noise = new float[input.Size];
            for (int i = 0; i < noise.Length; i++) noise[i] = 0.05f * rng.NextNormal();
            return input + Tensor.FromArray(noise, input.Shape[0], width);
        }

        protected override IEnumerable<(string Name, Tensor Buffer)> OwnBuffers() => [("calls", calls)];

        protected override IEnumerable<(string Name, Rng Generator)> OwnGenerators() => [("rng", rng)];

        public override JsonObject ToSpec() => new() { ["type"] = "noise" };

        public override string ToString() => "Noise";
    }

    private static readonly Dataset Train = Standardizer.Fit(Datasets.Iris().Features).Transform(Datasets.Iris());

    private static Module NewModel(int hidden = 8) =>
        new Sequential(new Dense(4, hidden, rng: new Rng(5)), new Tanh(), new Noise(hidden, 9), new Dense(hidden, 3, rng: new Rng(6)));

    private static Optimizer NewOptimizer(string kind, Module model) => kind switch
    {
        "adam" => new Adam(model.Parameters(), lr: 0.02f),
        "adamw" => new AdamW(model.Parameters(), lr: 0.02f, weightDecay: 0.1f),
        _ => new Sgd(model.Parameters(), lr: 0.05f, momentum: 0.9f, nesterov: true),
    };

    private FitOptions Options(int epochs, bool resume = false, Action<BatchProgress>? onBatch = null, CancellationToken token = default) => new()
    {
        Epochs = epochs, BatchSize = 16, Seed = 3, Validation = Train.Take(40),
        EarlyStopping = new EarlyStopping(Patience: 50), Schedule = new WarmupSchedule(new CosineSchedule(30), 10),
        SchedulePerStep = true, CheckpointDirectory = dir, Resume = resume, OnBatch = onBatch, Cancellation = token,
    };

    private static void AssertSameState(Module a, Optimizer oa, Module b, Optimizer ob)
    {
        var ta = a.NamedParameters().Concat(a.NamedBuffers()).ToList();
        var tb = b.NamedParameters().Concat(b.NamedBuffers()).ToList();
        Assert.Equal(ta.Count, tb.Count);
        for (int i = 0; i < ta.Count; i++) Assert.Equal(ta[i].Item2.ToArray(), tb[i].Item2.ToArray());
        var sa = oa.NamedState().ToList();
        var sb = ob.NamedState().ToList();
        Assert.NotEmpty(sa);
        Assert.Equal(sa.Select(s => s.Name), sb.Select(s => s.Name));
        for (int i = 0; i < sa.Count; i++) Assert.Equal(sa[i].State.ToArray(), sb[i].State.ToArray());
        Assert.Equal(oa.StepCount, ob.StepCount);
        Assert.Equal(oa.LearningRate, ob.LearningRate);
        Assert.Equal(a.NamedGenerators().Single().Generator.State, b.NamedGenerators().Single().Generator.State);
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void TwoEpochsPlusTwoResumedEqualFourUninterruptedBitForBit(string kind)
    {
        var whole = NewModel();
        var wholeOpt = NewOptimizer(kind, whole);
        var wholeHistory = whole.Fit(Train, Losses.CrossEntropy, wholeOpt, Options(4));
        File.Delete(Path.Combine(dir, Checkpoint.FileName));

        var first = NewModel();
        first.Fit(Train, Losses.CrossEntropy, NewOptimizer(kind, first), Options(2));
        Assert.Equal((2, 0), Checkpoint.ReadPosition(dir));

        var resumed = NewModel();   // a fresh process: new model and optimizer, state from the checkpoint only
        var resumedOpt = NewOptimizer(kind, resumed);
        var history = resumed.Fit(Train, Losses.CrossEntropy, resumedOpt, Options(4, resume: true));

        AssertSameState(whole, wholeOpt, resumed, resumedOpt);
        Assert.Equal(wholeHistory.Epochs.Select(e => (e.Loss, e.ValidationLoss, e.LearningRate)), history.Epochs.Select(e => (e.Loss, e.ValidationLoss, e.LearningRate)));
        Assert.Equal(4, history.Epochs.Count);
    }

    [Fact]
    public void CancelMidEpochThenResumeEqualsAnUninterruptedRun()
    {
        var whole = NewModel();
        var wholeOpt = NewOptimizer("adam", whole);
        var wholeHistory = whole.Fit(Train, Losses.CrossEntropy, wholeOpt, Options(3));
        File.Delete(Path.Combine(dir, Checkpoint.FileName));

        using var cts = new CancellationTokenSource();
        var cut = NewModel();
        var cutHistory = cut.Fit(Train, Losses.CrossEntropy, NewOptimizer("adam", cut), Options(3, onBatch: p =>
        {
            if (p.Epoch == 2 && p.Seen == 48) cts.Cancel();   // after the 3rd batch of epoch 2
        }, token: cts.Token));
        Assert.True(cutHistory.Cancelled);
        Assert.Single(cutHistory.Epochs);
        Assert.Equal((1, 3), Checkpoint.ReadPosition(dir));

        var resumed = NewModel();
        var resumedOpt = NewOptimizer("adam", resumed);
        var history = resumed.Fit(Train, Losses.CrossEntropy, resumedOpt, Options(3, resume: true));
        Assert.False(history.Cancelled);
        AssertSameState(whole, wholeOpt, resumed, resumedOpt);
        Assert.Equal(wholeHistory.Epochs.Select(e => (e.Loss, e.Accuracy)), history.Epochs.Select(e => (e.Loss, e.Accuracy)));
    }

    [Fact]
    public void ACrashMidWriteLeavesThePreviousCheckpointIntact()
    {
        var model = NewModel();
        model.Fit(Train, Losses.CrossEntropy, NewOptimizer("adam", model), Options(1));
        var before = File.ReadAllBytes(Checkpoint.PathIn(dir));

        var next = NewModel();
        using (Checkpoint.FailWritesAt(2))
        {
            var e = Assert.Throws<IOException>(() => next.Fit(Train, Losses.CrossEntropy, NewOptimizer("adam", next), Options(2, resume: true)));
            Assert.Contains("simulated crash", e.Message);
        }
        Assert.Equal(before, File.ReadAllBytes(Checkpoint.PathIn(dir)));
        Assert.Equal([Checkpoint.FileName], Directory.GetFiles(dir).Select(Path.GetFileName));   // no temporary file left
        Assert.Equal((1, 0), Checkpoint.ReadPosition(dir));

        var again = NewModel();
        var history = again.Fit(Train, Losses.CrossEntropy, NewOptimizer("adam", again), Options(2, resume: true));
        Assert.Equal([1, 2], history.Epochs.Select(e => e.Epoch));
    }

    [Fact]
    public void ResumingAnotherModelOrOptimizerNamesWhatDiffers()
    {
        var model = NewModel();
        model.Fit(Train, Losses.CrossEntropy, NewOptimizer("adam", model), Options(1));

        var wider = NewModel(hidden: 10);
        var e = Assert.Throws<InvalidOperationException>(() => wider.Fit(Train, Losses.CrossEntropy, NewOptimizer("adam", wider), Options(2, resume: true)));
        Assert.Contains("'0.weight' is [4,10]", e.Message);
        Assert.Contains("[4,8]", e.Message);

        var other = NewModel();
        e = Assert.Throws<InvalidOperationException>(() => other.Fit(Train, Losses.CrossEntropy, NewOptimizer("sgd", other), Options(2, resume: true)));
        Assert.Contains("trained with adam but this run uses sgd", e.Message);

        e = Assert.Throws<InvalidOperationException>(() => other.Fit(Train.Take(100), Losses.CrossEntropy, NewOptimizer("adam", other), Options(2, resume: true)));
        Assert.Contains("150 rows but this run has 100", e.Message);

        var empty = Directory.CreateTempSubdirectory("backprop-ckpt-empty-").FullName;
        try
        {
            var missing = Assert.Throws<FileNotFoundException>(() => other.Fit(Train, Losses.CrossEntropy, NewOptimizer("adam", other),
                Options(2, resume: true) with { CheckpointDirectory = empty }));
            Assert.Contains("no checkpoint to resume", missing.Message);
        }
        finally { Directory.Delete(empty); }
    }

    [Fact]
    public void PerEpochScheduleSetsEachEpochsRate()
    {
        var model = NewModel();
        var history = model.Fit(Train, Losses.CrossEntropy, new Sgd(model.Parameters(), lr: 0.1f),
            new FitOptions { Epochs = 5, BatchSize = 50, Schedule = new StepSchedule(2, 0.5f) });
        Assert.Equal([0.1f, 0.1f, 0.05f, 0.05f, 0.025f], history.Epochs.Select(e => e.LearningRate));
    }

    [Fact]
    public void BatchProgressCountsSamplesAndRunningLoss()
    {
        var model = NewModel();
        var seen = new List<BatchProgress>();
        var history = model.Fit(Train, Losses.CrossEntropy, new Sgd(model.Parameters(), lr: 0.1f),
            new FitOptions { Epochs = 2, BatchSize = 64, OnBatch = seen.Add });
        Assert.Equal([64, 128, 150, 64, 128, 150], seen.Select(p => p.Seen));
        Assert.All(seen, p => Assert.Equal(150, p.Total));
        Assert.Equal(history.Epochs[0].Loss, seen[2].Loss);   // the running mean at the last batch is the epoch's loss
        Assert.Equal(history.Epochs[1].Loss, seen[5].Loss);
        Assert.Equal(0, seen[2].SecondsRemaining);
    }
}
