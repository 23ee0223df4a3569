using Reelay.Client;
using Spectre.Console;

namespace Reelay.Cli.Infrastructure;

/// <summary>
/// Submits a job, shows its progress until it ends (from the live event stream, or by polling a server that has none), and
/// downloads the video: the heart of generate and demo.
/// </summary>
internal static class VideoJobRunner
{
    /// <summary>Returns the exit code; prints <c>video: PATH</c> on stdout when the video was saved.</summary>
    /// <param name="context">Output and settings.</param>
    /// <param name="client">A client for the gateway.</param>
    /// <param name="request">The job.</param>
    /// <param name="outputPathFor">Where to save the finished video.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    public static Task<int> RunAsync(CliContext context, ReelayClient client, CreateVideoRequest request, Func<Video, string> outputPathFor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        return RunAsync(context, client, ct => client.CreateVideoAsync(request, ct), request.Model, outputPathFor, cancellationToken);
    }

    /// <summary>As above, for any submit (remix, edit, extend): <paramref name="submit"/> starts the job.</summary>
    public static async Task<int> RunAsync(CliContext context, ReelayClient client, Func<CancellationToken, Task<Video>> submit, string? model, Func<Video, string> outputPathFor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submit);
        var submitted = await submit(cancellationToken).ConfigureAwait(false);
        await context.Error.WriteLineAsync($"submitted {submitted.Id} (model {submitted.Model ?? model ?? "default"}, {submitted.Seconds ?? "?"} s, {submitted.Size ?? "default size"})").ConfigureAwait(false);

        Video final;
        try
        {
            final = context.ErrorIsTerminal
                ? await WaitWithProgressBarAsync(context, client, submitted, cancellationToken).ConfigureAwait(false)
                : await WaitWithProgressLinesAsync(context, client, submitted, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await context.Error.WriteLineAsync($"stopped waiting; {submitted.Id} may still be running (see: reelay status {submitted.Id})").ConfigureAwait(false);
            throw;
        }

        if (final.Note is not null)
        {
            await context.Error.WriteLineAsync($"note: {final.Note}").ConfigureAwait(false);
        }

        if (final.Status != VideoStatus.Completed)
        {
            var reason = final.Error?.Message ?? "no reason given";
            var code = final.Error?.Code is { } c ? $" ({c})" : "";
            await context.Error.WriteLineAsync($"error: video {final.Id} {final.Status}: {reason}{code}").ConfigureAwait(false);
            return ReelayCli.ExitFailure;
        }

        var path = Path.GetFullPath(outputPathFor(final));
        await client.DownloadContentToFileAsync(final.Id, path, VideoVariant.Video, cancellationToken).ConfigureAwait(false);
        await context.Output.WriteLineAsync($"video: {path}").ConfigureAwait(false);
        return ReelayCli.ExitOk;
    }

    private static async Task<Video> WaitWithProgressBarAsync(CliContext context, ReelayClient client, Video submitted, CancellationToken cancellationToken)
    {
        return await context.ErrorConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async progressContext =>
            {
                var task = progressContext.AddTask(Markup.Escape(Describe(submitted)), maxValue: 100);
                var video = await client.WaitForCompletionStreamingAsync(
                    submitted.Id,
                    new InlineProgress<Video>(v =>
                    {
                        task.Description = Markup.Escape(Describe(v));
                        task.Value = v.Status == VideoStatus.Completed ? 100 : Math.Clamp(v.Progress, 0, 100);
                    }),
                    context.PollInterval,
                    cancellationToken).ConfigureAwait(false);
                task.StopTask();
                return video;
            }).ConfigureAwait(false);
    }

    private static async Task<Video> WaitWithProgressLinesAsync(CliContext context, ReelayClient client, Video submitted, CancellationToken cancellationToken)
    {
        // Redirected stderr (CI logs, pipes): a line per change of status or per tenth of progress, no redraws.
        string? lastLine = null;
        return await client.WaitForCompletionStreamingAsync(
            submitted.Id,
            new InlineProgress<Video>(v =>
            {
                var line = $"{v.Id} {Describe(v)} {v.Progress / 10 * 10}%";
                if (line != lastLine)
                {
                    context.Error.WriteLine(line);
                    lastLine = line;
                }
            }),
            context.PollInterval,
            cancellationToken).ConfigureAwait(false);
    }

    private static string Describe(Video video) => video.Status switch
    {
        VideoStatus.Queued when video.QueuePosition is { } position => $"queued (#{position})",
        VideoStatus.InProgress => "in progress",
        _ => video.Status,
    };

    /// <summary>Reports on the polling thread, so the last report is shown before the wait returns (Progress&lt;T&gt; posts).</summary>
    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
