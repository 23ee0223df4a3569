using Reelay.Jobs;

namespace Reelay.Engine;

/// <summary>
/// Told about every stored change of a job (insert, state change, progress, delete), after the store accepted it.
/// Called on the engine's path: implementations must return quickly and never throw (queue the work, then return).
/// </summary>
public interface IJobObserver
{
    /// <summary>The job as stored, and the stored version it replaced (null for a new job).</summary>
    void OnJobChanged(Job? previous, Job current);
}

/// <summary>Fans a change out to every registered observer; one observer's failure never reaches the engine or another observer.</summary>
public sealed class JobObservers
{
    private readonly IJobObserver[] _observers;

    /// <summary>Creates the fan-out.</summary>
    public JobObservers(IEnumerable<IJobObserver> observers) => _observers = [.. observers];

    /// <summary>No observers.</summary>
    public static JobObservers None { get; } = new([]);

    /// <summary>Tells every observer.</summary>
    public void Changed(Job? previous, Job current)
    {
        foreach (var observer in _observers)
        {
            try
            {
                observer.OnJobChanged(previous, current);
            }
#pragma warning disable CA1031 // An observer must not break the engine's state machine.
            catch
#pragma warning restore CA1031
            {
            }
        }
    }
}
