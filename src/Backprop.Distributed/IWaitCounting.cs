namespace Backprop.Distributed;

/// <summary>
/// A communicator that can tell, of the time its collectives took, the time spent waiting for the other ranks to
/// arrive (<see cref="MpiCommunicator"/>, at its shared window's barriers). <see cref="DataParallel"/> reads it around
/// each part of a step that it counts as averaging, for <see cref="DataParallel.WaitingTime"/>.
/// </summary>
internal interface IWaitCounting
{
    /// <summary>Stopwatch ticks spent so far waiting for the other ranks to arrive; never decreases.</summary>
    long WaitedTicks { get; }
}
