namespace Reelay.Client;

/// <summary>Paging and ordering for <see cref="ReelayClient.ListVideosAsync"/>.</summary>
public sealed class ListVideosOptions
{
    /// <summary>Return videos after this id (the previous page's <see cref="VideoList.LastId"/>).</summary>
    public string? After { get; set; }

    /// <summary>Page size; null leaves it to the server.</summary>
    public int? Limit { get; set; }

    /// <summary>Order by creation time; null leaves it to the server (newest first).</summary>
    public ListOrder? Order { get; set; }
}

/// <summary>The order of a video list.</summary>
public enum ListOrder
{
    /// <summary>Newest first (<c>desc</c>).</summary>
    Descending,

    /// <summary>Oldest first (<c>asc</c>).</summary>
    Ascending,
}
