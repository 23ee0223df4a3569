namespace Reelay.Engine;

/// <summary>
/// A provider lane's FIFO of waiting job ids, with O(log n) positions. Each id gets a sequence number when it joins:
/// growing at the back, and (for a job put back in front after a failover or a retry) growing on a separate front side
/// whose newest entry is first. A Fenwick tree per side counts the entries still present up to a sequence number, so a
/// position is "front entries ahead + back entries ahead", corrected for every departure (dispatch, cancel, deadline)
/// without a walk. Not thread-safe: the scheduler calls it under its lock.
/// <para>
/// Hand-written because no maintained .NET library offers an order-statistic queue (SortedSet has no rank, and
/// the C5 / PowerCollections packages are not in this project's package source); the structure is 60 lines and tested
/// against a list model in <c>LaneQueueTests</c>.
/// </para>
/// </summary>
public sealed class LaneQueue
{
    private readonly LinkedList<Entry> _order = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _nodes = new(StringComparer.Ordinal);
    private Fenwick _back = new(64);
    private Fenwick _front = new(16);
    private int _nextBack;
    private int _nextFront;

    private readonly record struct Entry(string Id, int Sequence, bool Front);

    /// <summary>Ids waiting.</summary>
    public int Count => _order.Count;

    /// <summary>Whether <paramref name="id"/> is waiting.</summary>
    public bool Contains(string id) => _nodes.ContainsKey(id);

    /// <summary>Adds <paramref name="id"/> at the back, or at the front; false when it is already waiting.</summary>
    public bool Add(string id, bool front = false)
    {
        if (_nodes.ContainsKey(id))
        {
            return false;
        }

        if (_order.Count == 0)
        {
            Reset();
        }
        else if ((front ? _nextFront >= _front.Capacity : _nextBack >= _back.Capacity) && _order.Count * 2 < _nextBack + _nextFront)
        {
            // Most numbers handed out belong to departed ids: renumber instead of growing, so memory follows what waits.
            Compact();
        }

        if (front)
        {
            var sequence = _nextFront++;
            _front = _front.Ensure(sequence);
            _front.Add(sequence, 1);
            _nodes[id] = _order.AddFirst(new Entry(id, sequence, true));
        }
        else
        {
            var sequence = _nextBack++;
            _back = _back.Ensure(sequence);
            _back.Add(sequence, 1);
            _nodes[id] = _order.AddLast(new Entry(id, sequence, false));
        }

        return true;
    }

    /// <summary>Takes the first id; false when none waits.</summary>
    public bool TryTake(out string id)
    {
        if (_order.First is not { } first)
        {
            id = "";
            return false;
        }

        id = first.Value.Id;
        Remove(id);
        return true;
    }

    /// <summary>Removes <paramref name="id"/> wherever it waits; false when it does not.</summary>
    public bool Remove(string id)
    {
        if (!_nodes.Remove(id, out var node))
        {
            return false;
        }

        _order.Remove(node);
        (node.Value.Front ? _front : _back).Add(node.Value.Sequence, -1);
        return true;
    }

    /// <summary>The 1-based position of <paramref name="id"/>, or null when it does not wait.</summary>
    public int? PositionOf(string id)
    {
        if (!_nodes.TryGetValue(id, out var node))
        {
            return null;
        }

        var entry = node.Value;
        var frontTotal = _front.Prefix(_nextFront - 1);
        return entry.Front
            ? frontTotal - _front.Prefix(entry.Sequence) + 1 // Newer front entries are ahead of it.
            : frontTotal + _back.Prefix(entry.Sequence);
    }

    private void Reset()
    {
        _back.Clear();
        _front.Clear();
        _nextBack = 0;
        _nextFront = 0;
    }

    /// <summary>Renumbers the waiting ids 0..n-1 on the back side, in order. O(n log n) after at least n/2 additions: amortized O(log n).</summary>
    private void Compact()
    {
        var ids = _order.Select(e => e.Id).ToList();
        _order.Clear();
        _nodes.Clear();
        _back = new Fenwick(Math.Max(64, ids.Count * 2));
        _front = new Fenwick(16);
        _nextBack = 0;
        _nextFront = 0;
        foreach (var id in ids)
        {
            Add(id);
        }
    }

    /// <summary>Counts per sequence number with prefix sums in O(log n).</summary>
    private sealed class Fenwick(int capacity)
    {
        private readonly int[] _tree = new int[capacity + 1];

        public int Capacity => _tree.Length - 1;

        public Fenwick Ensure(int index)
        {
            if (index < _tree.Length - 1)
            {
                return this;
            }

            // Rebuild at double size from the point counts (O(n log n) once per doubling: amortized O(log n) per addition).
            var counts = new int[_tree.Length - 1];
            for (var i = 0; i < counts.Length; i++)
            {
                counts[i] = Prefix(i) - (i > 0 ? Prefix(i - 1) : 0);
            }

            var grown = new Fenwick(Math.Max(index + 1, counts.Length * 2));
            for (var i = 0; i < counts.Length; i++)
            {
                if (counts[i] != 0)
                {
                    grown.Add(i, counts[i]);
                }
            }

            return grown;
        }

        public void Add(int index, int delta)
        {
            for (var i = index + 1; i < _tree.Length; i += i & -i)
            {
                _tree[i] += delta;
            }
        }

        /// <summary>The sum of counts at 0..<paramref name="index"/> (0 for a negative index).</summary>
        public int Prefix(int index)
        {
            var sum = 0;
            for (var i = Math.Min(index + 1, _tree.Length - 1); i > 0; i -= i & -i)
            {
                sum += _tree[i];
            }

            return sum;
        }

        public void Clear() => Array.Clear(_tree);
    }
}
