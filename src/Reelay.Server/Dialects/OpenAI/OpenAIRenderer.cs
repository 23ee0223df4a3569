using System.Globalization;
using Reelay.Catalog;
using Reelay.Jobs;

namespace Reelay.Server.Dialects.OpenAI;

/// <summary>Renders canonical jobs and errors in OpenAI's shapes.</summary>
internal static class OpenAIRenderer
{
    /// <summary>
    /// queued and submitting → queued; running → in_progress; succeeded → completed; failed and cancelled → failed
    /// (OpenAI clients know only these four; a cancelled job carries error.code "cancelled").
    /// </summary>
    public static string Status(JobStatus status) => status switch
    {
        JobStatus.Queued or JobStatus.Submitting => "queued",
        JobStatus.Running => "in_progress",
        JobStatus.Succeeded => "completed",
        _ => "failed",
    };

    public static OpenAIVideo Video(Job job, int? queuePosition) => new()
    {
        Id = job.Id,
        Model = job.Model,
        Status = Status(job.Status),
        Progress = job.Progress,
        CreatedAt = job.CreatedAt.ToUnixTimeSeconds(),
        CompletedAt = job.CompletedAt?.ToUnixTimeSeconds(),
        ExpiresAt = job.ExpiresAt?.ToUnixTimeSeconds(),
        Seconds = job.DurationSeconds.ToString(CultureInfo.InvariantCulture),
        Size = job.Size,
        Prompt = job.Prompt,
        RemixedFromVideoId = job.Operation == JobOperation.Remix ? job.SourceJobId : null,
        SourceVideoId = job.Operation is JobOperation.Edit or JobOperation.Extend ? job.SourceJobId : null,
        Operation = job.Operation == JobOperation.Generate ? null : job.Operation.ToWire(),
        Error = job.Error is { } e ? new OpenAIVideoError(e.Code, e.Message) : null,
        QueuePosition = queuePosition,
        Note = job.Note,
        Metadata = job.Metadata.Count > 0 ? job.Metadata : null,
        Sha256 = job.ContentDeletedAt is null ? job.ResultSha256 : null,
    };

    public static OpenAICharacter Character(Characters.Character character) => new(character.Id, character.CreatedAt.ToUnixTimeSeconds(), character.Name);

    public static OpenAIErrorEnvelope Error(JobError error) => new(new OpenAIErrorBody(error.Message, ErrorType(error.Code), Param(error.Param), WireCode(error.Code)));

    private static string? Param(string? canonical) => canonical switch
    {
        null => null,
        "duration" => "seconds",
        "first_frame" => "input_reference",
        _ => canonical,
    };

    private static string WireCode(string code) => code switch
    {
        ErrorCodes.Unauthorized => "invalid_api_key",
        ErrorCodes.QuotaExceeded => "insufficient_quota",
        ErrorCodes.RateLimited => "rate_limit_exceeded",
        _ => code,
    };

    private static string ErrorType(string code) => code switch
    {
        ErrorCodes.Unauthorized or ErrorCodes.InvalidRequest or ErrorCodes.UnsupportedModel or ErrorCodes.ImageInvalid
            or ErrorCodes.ModerationBlocked or ErrorCodes.NotFound or ErrorCodes.Conflict or ErrorCodes.PayloadTooLarge
            or ErrorCodes.Gone or ErrorCodes.Forbidden => "invalid_request_error",
        ErrorCodes.QuotaExceeded => "insufficient_quota",
        ErrorCodes.RateLimited => "rate_limit_error",
        _ => "server_error",
    };

    public static OpenAIModel Model(ModelDefinition m, IReadOnlyDictionary<string, decimal> pricing) => new()
    {
        Id = m.Name,
        Description = m.Description,
        Modes = m.Modes,
        Durations = m.Durations.Describe(),
        DefaultDuration = m.DefaultDuration,
        Sizes = m.AnySize is { } any
            ? [$"any{(any.Even ? " even" : "")} WxH from {any.MinSide} up to {any.MaxWidth}x{any.MaxHeight}"]
            : m.Sizes.Count > 0 ? m.Sizes : m.Resolutions.Values.SelectMany(r => r.Values).Distinct().ToList(),
        Resolutions = m.Resolutions.Count > 0 ? m.Resolutions.Keys.ToList() : m.Tiers.Count > 0 ? m.Tiers.Keys.ToList() : null,
        AspectRatios = m.AspectRatios.Count > 0 ? m.AspectRatios : null,
        Options = m.Options.Keys.ToList(),
        Pricing = pricing,
        Seed = m.Seed,
    };
}
