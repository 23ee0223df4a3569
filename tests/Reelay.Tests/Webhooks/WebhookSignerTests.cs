using System.Text;
using Reelay.Webhooks;

namespace Reelay.Tests.Webhooks;

public sealed class WebhookSignerTests
{
    [Fact]
    public void Sign_StandardWebhooksSpecVector_MatchesExpected()
    {
        // The example of the Standard Webhooks specification and its reference libraries.
        var signature = WebhookSigner.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, Encoding.UTF8.GetBytes("{\"test\": 2432232314}"));

        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", signature);
    }

    [Fact]
    public void SignatureHeader_TwoSecrets_OneSignatureEachCurrentFirst()
    {
        var body = Encoding.UTF8.GetBytes("{\"type\":\"job.queued\"}");
        var current = WebhookSigner.NewSecret();
        var previous = WebhookSigner.NewSecret();

        var header = WebhookSigner.SignatureHeader([current, previous], "msg_1", 1_700_000_000, body);

        Assert.Equal([WebhookSigner.Sign(current, "msg_1", 1_700_000_000, body), WebhookSigner.Sign(previous, "msg_1", 1_700_000_000, body)], header.Split(' '));
        Assert.NotEqual(header.Split(' ')[0], header.Split(' ')[1]);
    }

    [Fact]
    public void NewSecret_Always_WhsecPrefixAnd32RandomBytes()
    {
        var a = WebhookSigner.NewSecret();
        var b = WebhookSigner.NewSecret();

        Assert.StartsWith("whsec_", a, StringComparison.Ordinal);
        Assert.Equal(32, WebhookSigner.SecretBytes(a).Length);
        Assert.NotEqual(a, b);
    }
}
