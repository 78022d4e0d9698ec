namespace Backprop.Tests;

/// <summary>
/// Tests that must not share the machine with other tests: they count allocations on every thread, or keep the GEMM
/// workers busy from many threads (which would make other tests' products run on their own threads and grow those
/// threads' packing buffers mid-measurement). xUnit runs this collection after all the parallel ones, by itself.
/// </summary>
[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;
