using System.Globalization;
using Reelay.Client;
using Spectre.Console;

namespace Reelay.Cli.Infrastructure;

/// <summary>How videos look in the terminal.</summary>
internal static class VideoTables
{
    public static Table List(IEnumerable<Video> videos)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "ID", "STATUS", "PROGRESS", "MODEL", "SECONDS", "SIZE", "CREATED (UTC)" })
        {
            table.AddColumn(column);
        }

        foreach (var video in videos)
        {
            table.AddRow(
                Cell(video.Id),
                Cell(StatusText(video)),
                Cell(video.Progress.ToString(CultureInfo.InvariantCulture) + "%"),
                Cell(video.Model),
                Cell(video.Seconds),
                Cell(video.Size),
                Cell(Time(video.CreatedAt)));
        }

        return table;
    }

    public static Grid Details(Video video)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        void Row(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                grid.AddRow(Cell(name), Cell(value));
            }
        }

        Row("id", video.Id);
        Row("status", StatusText(video));
        Row("progress", video.Progress.ToString(CultureInfo.InvariantCulture) + "%");
        Row("model", video.Model);
        Row("seconds", video.Seconds);
        Row("size", video.Size);
        Row("prompt", video.Prompt);
        Row("created", Time(video.CreatedAt));
        Row("completed", video.CompletedAt is { } completed ? Time(completed) : null);
        Row("expires", video.ExpiresAt is { } expires ? Time(expires) : null);
        Row("remixed from", video.RemixedFromVideoId);
        Row("error", video.Error is { } error ? $"{error.Message} ({error.Code})" : null);
        Row("note", video.Note);
        return grid;
    }

    public static string StatusText(Video video) =>
        video.Status == VideoStatus.Queued && video.QueuePosition is { } position ? $"queued (#{position})" : video.Status;

    public static string Time(long unixSeconds) =>
        DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>Plain text, never markup: prompts and server strings may contain brackets.</summary>
    public static Text Cell(string? value) => new(value ?? "");
}
