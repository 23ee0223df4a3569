using Reelay.Catalog;
using Reelay.Jobs;

namespace Reelay.Accounts;

/// <summary>
/// Prices per second of video, by public model and resolution tier: the catalog's <c>pricing</c>, with the operator's
/// Reelay:Pricing entries on top. A model without any price is free.
/// </summary>
public sealed class PriceTable
{
    private readonly ModelCatalog _catalog;
    private readonly Dictionary<string, Dictionary<string, long>> _prices = new(StringComparer.Ordinal);

    /// <summary>Builds the table; an override naming a model the catalog does not have is an error.</summary>
    public PriceTable(ModelCatalog catalog, IReadOnlyDictionary<string, Dictionary<string, decimal>>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _catalog = catalog;
        foreach (var model in catalog.Models)
        {
            _prices[model.Name] = model.Pricing.ToDictionary(p => p.Key, p => Money.ToMicros(p.Value), StringComparer.Ordinal);
        }

        foreach (var (model, tiers) in overrides ?? new Dictionary<string, Dictionary<string, decimal>>())
        {
            if (!_prices.TryGetValue(model, out var prices))
            {
                throw new InvalidOperationException($"Reelay:Pricing:{model} names a model the catalog does not have; known: {string.Join(", ", _prices.Keys.Order(StringComparer.Ordinal))}.");
            }

            foreach (var (tier, usd) in tiers)
            {
                prices[tier] = Money.ToMicros(usd);
            }
        }
    }

    /// <summary>The tier a job is priced at and its price per second in micro-USD.</summary>
    public (string Tier, long PerSecondMicros) PriceOf(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!_prices.TryGetValue(job.Model, out var prices) || prices.Count == 0)
        {
            return ("*", 0);
        }

        var tier = TierOf(job);
        if (tier is not null && prices.TryGetValue(tier, out var price))
        {
            return (tier, price);
        }

        if (prices.TryGetValue("*", out var any))
        {
            return ("*", any);
        }

        // A size no priced tier names: hold the dearest tier's price rather than invent a cheaper one.
        var dearest = prices.MaxBy(p => p.Value);
        return (dearest.Key, dearest.Value);
    }

    /// <summary>A model's prices in USD per second by tier (empty: free).</summary>
    public IReadOnlyDictionary<string, decimal> PricesOf(string model) =>
        _prices.TryGetValue(model, out var prices) ? prices.ToDictionary(p => p.Key, p => Money.ToUsd(p.Value), StringComparer.Ordinal) : new Dictionary<string, decimal>();

    /// <summary>What a job will hold: its price per second times the seconds requested.</summary>
    public long HoldFor(Job job) => checked(PriceOf(job).PerSecondMicros * job.DurationSeconds);

    /// <summary>What a finished job costs: the locked price times the seconds produced (never more than requested), rounded to the micro-USD.</summary>
    public static long Charge(long perSecondMicros, int requestedSeconds, double producedSeconds)
    {
        var seconds = Math.Clamp(producedSeconds, 0, requestedSeconds);
        return (long)Math.Round(perSecondMicros * seconds, MidpointRounding.AwayFromZero);
    }

    /// <summary>The job's resolution tier: the one it named, the tier listing its exact size, or the tier of its short side.</summary>
    private string? TierOf(Job job)
    {
        if (job.Resolution is { } named)
        {
            return named;
        }

        var model = _catalog.Find(job.Model);
        if (model is null)
        {
            return null;
        }

        var size = job.Size;
        foreach (var (tier, bySize) in model.Resolutions)
        {
            if (bySize.ContainsValue(size))
            {
                return tier;
            }
        }

        // Tier-based models: the smallest tier whose short side reaches the job's short side.
        var shortSide = Math.Min(job.Width, job.Height);
        return model.Tiers.Where(t => t.Value >= shortSide).OrderBy(t => t.Value).Select(t => t.Key).FirstOrDefault()
            ?? model.Tiers.OrderByDescending(t => t.Value).Select(t => t.Key).FirstOrDefault();
    }
}
