using Reelay.Server.Auth;

namespace Reelay.Server.Tests.Accounts;

/// <summary>
/// Issue 16 item 8: the admin key is hashed until it has been presented once, then compared directly; the answers are the
/// same either way, for a configured key and for one known only by its stored hash.
/// </summary>
public sealed class AdminKeyTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("reelay-admin-key-");

    public void Dispose() => _data.Delete(recursive: true);

    [Fact]
    public void Matches_ConfiguredKey_SameAnswersBeforeAndAfterTheFirstMatch()
    {
        var key = AdminKey.Resolve("configured-admin-key-0123456789", _data.FullName);

        Assert.False(key.Matches("configured-admin-key-012345678X"));
        Assert.False(key.Matches(""));
        Assert.True(key.Matches("configured-admin-key-0123456789"));

        Assert.True(key.Matches("configured-admin-key-0123456789"));
        Assert.False(key.Matches("configured-admin-key-012345678X"));
        Assert.False(key.Matches("configured-admin-key-01234567890"));
        Assert.False(key.Matches("configured-admin-key-012345678"));
        Assert.False(key.Matches(""));
    }

    [Fact]
    public void Matches_KeyKnownOnlyByStoredHash_RemembersThePresentedKeyOnly()
    {
        var generated = AdminKey.Resolve(null, _data.FullName).GeneratedKey!;
        var restarted = AdminKey.Resolve(null, _data.FullName);
        Assert.Null(restarted.GeneratedKey);
        var wrong = generated[..^1] + (generated[^1] == '0' ? '1' : '0');

        Assert.False(restarted.Matches(wrong));
        Assert.True(restarted.Matches(generated));
        Assert.False(restarted.Matches(wrong));
        Assert.True(restarted.Matches(generated));
    }

    [Fact]
    public void Matches_TooLongToCheck_Refused() =>
        Assert.False(AdminKey.Resolve("configured-admin-key-0123456789", _data.FullName).Matches(new string('a', 1000)));
}
