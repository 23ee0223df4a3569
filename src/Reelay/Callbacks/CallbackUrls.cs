using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Reelay.Callbacks;

/// <summary>
/// The per-job callback URLs handed to upstreams that can call back:
/// <c>{Reelay:PublicBaseUrl}/callbacks/{instance}/{job id}.{mac}</c>, where the mac is HMAC-SHA256 over the instance and
/// the job id with a 256-bit key kept in <c>{data}/callback-key</c> (made on first use, readable by its owner only). A URL
/// is derived, not stored: the same job on the same instance always gets the same URL (also after a restart), a guessed
/// token or one of another job or instance fails the check, and the check needs no database read.
/// </summary>
/// <remarks>
/// Several gateway nodes need the same key for a callback to be honoured by whichever node receives it: on PostgreSQL the
/// key is kept in the database (<see cref="Cluster.ISharedSecrets"/>) instead of the file, and an operator may set one
/// (Reelay:CallbackKey), which wins. With different keys a callback to another node answers 404 and polling finishes the
/// job (callbacks are only a shortcut).
/// </remarks>
public sealed partial class CallbackUrls
{
    /// <summary>The route's first segment.</summary>
    public const string PathPrefix = "/callbacks";

    private readonly string? _publicBase;
    private readonly string _keyPath;
    private readonly Lazy<byte[]> _key;
    private readonly Cluster.ISharedSecrets? _secrets;
    private readonly string? _configuredKey;

    /// <summary>
    /// Creates the URL maker for the gateway's options and its public address (Reelay:PublicBaseUrl, a server setting; null:
    /// no callbacks, since an upstream cannot reach a listener's own address). The key is <paramref name="configuredKey"/>'s
    /// UTF-8 bytes when set (Reelay:CallbackKey); otherwise the one in <paramref name="secrets"/> when they are shared
    /// (several nodes on PostgreSQL); otherwise the data folder's.
    /// </summary>
    public CallbackUrls(ReelayOptions options, string? publicBaseUrl, Cluster.ISharedSecrets? secrets = null, string? configuredKey = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _publicBase = string.IsNullOrWhiteSpace(publicBaseUrl) ? null : publicBaseUrl.TrimEnd('/');
        _keyPath = Path.Combine(options.DataPath, "callback-key");
        _secrets = secrets;
        _configuredKey = string.IsNullOrEmpty(configuredKey) ? null : configuredKey;
        // PublicationOnly: a failed load (a database that did not answer) is tried again at the next use, not remembered.
        _key = new Lazy<byte[]>(LoadKey, LazyThreadSafetyMode.PublicationOnly);
    }

    private byte[] LoadKey()
    {
        if (_configuredKey is not null)
        {
            return Encoding.UTF8.GetBytes(_configuredKey);
        }

        if (_secrets is { IsShared: true })
        {
            // The first node stores its data folder's key when it has one (callback URLs it sent keep working), or a new one.
            var candidate = File.Exists(_keyPath) && ReadKeyFile() is { Length: >= 32 } existing ? existing : RandomNumberGenerator.GetBytes(32);
            return _secrets.GetOrAdd(Cluster.SharedSecretNames.CallbackKey, candidate);
        }

        return LoadOrCreateKey();
    }

    private byte[]? ReadKeyFile()
    {
        try
        {
            return Convert.FromHexString(File.ReadAllText(_keyPath).Trim());
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Whether callbacks can be offered at all: Reelay:PublicBaseUrl is set.</summary>
    public bool Available => _publicBase is not null;

    /// <summary>The callback URL of <paramref name="jobId"/> on <paramref name="instance"/>, or null without a public base URL.</summary>
    public Uri? UrlFor(string instance, string jobId)
    {
        ArgumentException.ThrowIfNullOrEmpty(instance);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        return _publicBase is null ? null : new Uri($"{_publicBase}{PathPrefix}/{Uri.EscapeDataString(instance)}/{Token(instance, jobId)}");
    }

    /// <summary>The token part of the URL: the job id, a dot and the mac.</summary>
    public string Token(string instance, string jobId) => jobId + "." + Mac(instance, jobId);

    /// <summary>The job a token names, when its mac is right for <paramref name="instance"/>; null otherwise (in constant time for the mac).</summary>
    public string? Open(string instance, string token)
    {
        if (string.IsNullOrEmpty(instance) || string.IsNullOrEmpty(token) || token.Length > 200)
        {
            return null;
        }

        var dot = token.LastIndexOf('.');
        if (dot <= 0 || !JobIdShape().IsMatch(token.AsSpan(0, dot)))
        {
            return null;
        }

        var jobId = token[..dot];
        var expected = Encoding.ASCII.GetBytes(Mac(instance, jobId));
        var given = Encoding.ASCII.GetBytes(token[(dot + 1)..]);
        return CryptographicOperations.FixedTimeEquals(expected, given) ? jobId : null;
    }

    private string Mac(string instance, string jobId)
    {
        var mac = HMACSHA256.HashData(_key.Value, Encoding.UTF8.GetBytes("reelay-callback\n" + instance + "\n" + jobId));
        return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    private byte[] LoadOrCreateKey()
    {
        if (File.Exists(_keyPath))
        {
            var existing = Convert.FromHexString(File.ReadAllText(_keyPath).Trim());
            if (existing.Length >= 32)
            {
                return existing;
            }

            throw new InvalidOperationException($"The callback key file {_keyPath} is damaged; delete it to make a new one (callback URLs already sent then stop working; polling finishes those jobs).");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(_keyPath)!);
        var key = RandomNumberGenerator.GetBytes(32);
        var temp = _keyPath + ".tmp-" + Environment.ProcessId;
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(temp, Encoding.ASCII, fileOptions))
        {
            writer.Write(Convert.ToHexStringLower(key));
        }

        try
        {
            File.Move(temp, _keyPath, overwrite: false);
            return key;
        }
        catch (IOException) when (File.Exists(_keyPath))
        {
            // Another process made it first: use theirs.
            File.Delete(temp);
            return Convert.FromHexString(File.ReadAllText(_keyPath).Trim());
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,100}$")]
    private static partial Regex JobIdShape();
}

/// <summary>Callbacks of one provider instance, under <c>Reelay:Providers:&lt;name&gt;:Callbacks</c>.</summary>
public sealed class CallbackOptions
{
    /// <summary>
    /// Send a per-job callback URL in the submit body (Seedance, Kling and Vidu callback_url; fal's fal_webhook; Veo's
    /// webhookConfig.uris). Unset
    /// means on when Reelay:PublicBaseUrl is set (the upstream must be able to reach that address).
    /// </summary>
    public bool? Enabled { get; set; }

    /// <summary>
    /// fal and Veo: where the public keys of the webhook signatures are (a JWKS). Default for fal
    /// https://rest.alpha.fal.ai/.well-known/jwks.json, as fal documents; for Veo
    /// https://generativelanguage.googleapis.com/.well-known/jwks.json; an emulator serves its own.
    /// </summary>
    public string? JwksUrl { get; set; }

    /// <summary>Every problem with these settings, each naming its key under <paramref name="key"/>.</summary>
    public IEnumerable<string> Validate(string key)
    {
        if (JwksUrl is not null && (!Uri.TryCreate(JwksUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")))
        {
            yield return $"{key}:JwksUrl must be an absolute http or https URL (got '{JwksUrl}').";
        }
    }
}
