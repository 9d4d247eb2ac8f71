using System.Net;
using System.Net.Sockets;
using System.Text;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MimeKit;
using netDumbster.smtp;

namespace DrWorkflows.Activities.Tests.Notifications;

/// <summary>
/// Email through real SMTP servers in-process: netDumbster for plain SMTP, and a scripted server for
/// STARTTLS with login and for refusals.
/// </summary>
public sealed class SmtpEmailSenderTests
{
    private readonly CapturingLoggerProvider logs = new();

    [Fact]
    public async Task Sends_text_and_html_bodies_to_several_recipients()
    {
        using var server = Configuration.Configure().WithAddress(IPAddress.Loopback).WithRandomPort().Build();
        using var services = Services(o =>
        {
            o.Port = server.Configuration.Port;
            o.FromName = "DR bot";
        });

        var receipt = await services.GetRequiredService<IEmailSender>().SendAsync(
            new EmailMessage
            {
                To = ["ic@example.com", "Ops Lead <ops@example.com>"],
                Cc = ["dba@example.com"],
                Subject = "[SEV-1] Database restore started",
                TextBody = "Restore of main started at 14:05 UTC.",
                HtmlBody = "<p>Restore of <b>main</b> started at 14:05 UTC.</p>",
                MessageId = "exec-1.run-1@drworkflows",
            },
            TestContext.Current.CancellationToken);

        Assert.Equal("exec-1.run-1@drworkflows", receipt.MessageId);
        Assert.Equal(["ic@example.com", "ops@example.com", "dba@example.com"], receipt.Recipients);
        var received = Assert.Single(server.ReceivedEmail);
        Assert.Equal(["ic@example.com", "ops@example.com"], received.ToAddresses.Select(a => a.Address));
        Assert.Equal(["dba@example.com"], received.CcAddresses.Select(a => a.Address));
        Assert.Equal("dr@example.com", received.FromAddress.Address);

        var mime = Parse(received.Data);
        Assert.Equal("[SEV-1] Database restore started", mime.Subject);
        Assert.Equal("exec-1.run-1@drworkflows", mime.MessageId);
        Assert.Equal("DR bot", mime.From.Mailboxes.Single().Name);
        Assert.Equal(["ic@example.com", "ops@example.com"], mime.To.Mailboxes.Select(m => m.Address));
        Assert.Equal(["dba@example.com"], mime.Cc.Mailboxes.Select(m => m.Address));
        Assert.Equal("Restore of main started at 14:05 UTC.", mime.TextBody!.Trim());
        Assert.Equal("<p>Restore of <b>main</b> started at 14:05 UTC.</p>", mime.HtmlBody!.Trim());
        Assert.Equal("multipart/alternative", mime.Body!.ContentType.MimeType);
    }

    [Fact]
    public async Task Uses_the_default_recipients_when_none_are_given()
    {
        using var server = Configuration.Configure().WithAddress(IPAddress.Loopback).WithRandomPort().Build();
        using var services = Services(o =>
        {
            o.Port = server.Configuration.Port;
            o.DefaultRecipients = ["oncall@example.com"];
        });

        await services.GetRequiredService<IEmailSender>().SendAsync(
            new EmailMessage { To = [], Subject = "Drill finished", TextBody = "RTO 22 min." },
            TestContext.Current.CancellationToken);

        var received = Assert.Single(server.ReceivedEmail);
        Assert.Equal(["oncall@example.com"], received.ToAddresses.Select(a => a.Address));
        var mime = Parse(received.Data);
        Assert.Equal("text/plain", mime.Body!.ContentType.MimeType);
        Assert.Null(mime.HtmlBody);
    }

    [Fact]
    public async Task Upgrades_with_STARTTLS_then_logs_in_and_sends()
    {
        await using var server = new ScriptedSmtpServer();
        using var services = StartTlsServices(server, server.Password, pinCertificate: true);

        await services.GetRequiredService<IEmailSender>().SendAsync(
            new EmailMessage { To = ["ic@example.com", "ops@example.com"], Subject = "Failover done", TextBody = "DNS points to the DR host.", HtmlBody = "<p>DNS points to the DR host.</p>" },
            TestContext.Current.CancellationToken);

        var mail = Assert.Single(server.Received);
        Assert.True(mail.OverTls);
        Assert.Equal(server.UserName, mail.AuthenticatedUser);
        Assert.Equal("dr@example.com", mail.From);
        Assert.Equal(["ic@example.com", "ops@example.com"], mail.Recipients);
        var mime = Parse(mail.Data);
        Assert.Equal("Failover done", mime.Subject);
        Assert.Equal("DNS points to the DR host.", mime.TextBody!.Trim());
        Assert.Equal("<p>DNS points to the DR host.</p>", mime.HtmlBody!.Trim());
        var commands = Assert.Single(server.Sessions).Commands.ToList();
        Assert.True(commands.IndexOf("STARTTLS") < commands.IndexOf("AUTH"), string.Join(" / ", commands));
        Assert.DoesNotContain(server.Password, logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_untrusted_certificate_fails_clearly_and_is_not_retried()
    {
        await using var server = new ScriptedSmtpServer();
        using var services = StartTlsServices(server, server.Password, pinCertificate: false);

        var error = await Assert.ThrowsAsync<NotificationException>(() => services.GetRequiredService<IEmailSender>().SendAsync(
            new EmailMessage { To = ["ic@example.com"], Subject = "s", TextBody = "t" },
            TestContext.Current.CancellationToken));

        Assert.Equal("email.tls", error.Code);
        Assert.Contains("ServerCertificateSha256", error.Message, StringComparison.Ordinal);
        Assert.Single(server.Sessions);
        Assert.Empty(server.Received);
    }

    [Fact]
    public async Task A_server_without_STARTTLS_is_refused_when_StartTls_is_required()
    {
        using var server = Configuration.Configure().WithAddress(IPAddress.Loopback).WithRandomPort().Build();
        using var services = Services(o =>
        {
            o.Port = server.Configuration.Port;
            o.Security = "StartTls";
        });

        var error = await Assert.ThrowsAsync<NotificationException>(() => services.GetRequiredService<IEmailSender>().SendAsync(
            new EmailMessage { To = ["ic@example.com"], Subject = "s", TextBody = "t" },
            TestContext.Current.CancellationToken));

        Assert.False(error.Retryable);
        Assert.Contains("STARTTLS", error.Message, StringComparison.Ordinal);
        Assert.Contains("Notifications:Email:Security", error.Message, StringComparison.Ordinal);
        Assert.Empty(server.ReceivedEmail);
    }

    [Fact]
    public async Task A_refused_login_names_the_settings_and_never_the_password()
    {
        await using var server = new ScriptedSmtpServer();
        using var services = StartTlsServices(server, "wrong-Password-123", pinCertificate: true);

        var error = await Assert.ThrowsAsync<NotificationException>(() => services.GetRequiredService<IEmailSender>().SendAsync(
            new EmailMessage { To = ["ic@example.com"], Subject = "s", TextBody = "t" },
            TestContext.Current.CancellationToken));

        Assert.Equal("email.auth", error.Code);
        Assert.Contains("refused the login of 'dr-bot'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Notifications:Email:Password", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-Password-123", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-Password-123", logs.All, StringComparison.Ordinal);
        Assert.Single(server.Sessions);
    }

    [Fact]
    public async Task A_refused_recipient_fails_at_once_naming_the_mailbox()
    {
        await using var server = new ScriptedSmtpServer(offerStartTls: false, refuseRecipient: "gone@example.com");
        using var services = Services(o => o.Port = server.Port);

        var error = await Assert.ThrowsAsync<NotificationException>(() => services.GetRequiredService<IEmailSender>().SendAsync(
            new EmailMessage { To = ["ic@example.com", "gone@example.com"], Subject = "s", TextBody = "t" },
            TestContext.Current.CancellationToken));

        Assert.False(error.Retryable);
        Assert.Equal("550", error.ServiceError);
        Assert.Contains("refused the recipient gone@example.com", error.Message, StringComparison.Ordinal);
        Assert.Single(server.Sessions);
        Assert.Empty(server.Received);
    }

    [Fact]
    public async Task A_temporary_refusal_is_retried()
    {
        await using var server = new ScriptedSmtpServer(offerStartTls: false, temporaryFailures: 1);
        using var services = Services(o => o.Port = server.Port);

        await services.GetRequiredService<IEmailSender>().SendAsync(
            new EmailMessage { To = ["ic@example.com"], Subject = "Retry me", TextBody = "t" },
            TestContext.Current.CancellationToken);

        Assert.Equal(2, server.Sessions.Count);
        Assert.Equal("Retry me", Parse(Assert.Single(server.Received).Data).Subject);
        Assert.Contains(logs.Lines, l => l.Contains("email call failed on attempt 1", StringComparison.Ordinal) && l.Contains("451", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unreachable_server_is_retried_then_fails_with_the_count()
    {
        var port = ClosedPort();
        using var services = Services(o =>
        {
            o.Port = port;
            o.MaxAttempts = 3;
        });

        var error = await Assert.ThrowsAsync<NotificationException>(() => services.GetRequiredService<IEmailSender>().SendAsync(
            new EmailMessage { To = ["ic@example.com"], Subject = "s", TextBody = "t" },
            TestContext.Current.CancellationToken));

        Assert.Equal(3, error.Attempts);
        Assert.Contains("failed after 3 attempts", error.Message, StringComparison.Ordinal);
        Assert.Contains($"Could not talk to SMTP server 127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Not_configured_says_which_keys_to_set()
    {
        using var services = Services(o => o.Host = null);

        var error = await Assert.ThrowsAsync<NotificationException>(() => services.GetRequiredService<IEmailSender>().SendAsync(
            new EmailMessage { To = ["ic@example.com"], Subject = "s", TextBody = "t" },
            TestContext.Current.CancellationToken));

        Assert.Contains("Notifications:Email:Host", error.Message, StringComparison.Ordinal);
    }

    private ServiceProvider Services(Action<EmailOptions> email) =>
        new ServiceCollection()
            .AddLogging(b => b.AddProvider(logs))
            .AddNotifications(o =>
            {
                o.Email.Host = "127.0.0.1";
                o.Email.From = "dr@example.com";
                o.Email.Security = "None";
                o.Email.RetryDelay = TimeSpan.Zero;
                o.Email.Timeout = TimeSpan.FromSeconds(10);
                email(o.Email);
            })
            .BuildServiceProvider();

    private ServiceProvider StartTlsServices(ScriptedSmtpServer server, string password, bool pinCertificate) =>
        Services(o =>
        {
            o.Port = server.Port;
            o.Security = "StartTls";
            o.UserName = server.UserName;
            o.Password = password;
            o.ServerCertificateSha256 = pinCertificate ? server.CertificateSha256 : null;
        });

    private static MimeMessage Parse(string data) =>
        MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(data)), TestContext.Current.CancellationToken);

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
