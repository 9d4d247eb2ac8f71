using DrWorkflows.Activities.Notifications;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Tests.Notifications;

public sealed class ContactTreeTests
{
    private static readonly ContactPerson Ic = new() { Name = "Ines Commander", SlackUserId = "U0IC", Email = "ic@example.com", Phone = "+1 555 0100" };
    private static readonly ContactPerson IcBackup = new() { Name = "Ivan Backup", SlackUserId = "U0IC2", Email = "ic2@example.com" };
    private static readonly ContactPerson Ops = new() { Name = "Olga Ops", SlackUserId = "U0OPS", Email = "ops@example.com" };
    private static readonly ContactPerson Dba = new() { Name = "Dan DBA", Email = "dba@example.com" };
    private static readonly ContactPerson DevOps = new() { Name = "Deb DevOps", SlackUserId = "U0DEV" };
    private static readonly ContactPerson Net = new() { Name = "Nils Network", Phone = "+1 555 0199" };
    private static readonly ContactPerson Comms = new() { Name = "Cora Comms", Email = "comms@example.com" };
    private static readonly ContactPerson Exec = new() { Name = "Eve Exec", Email = "cto@example.com" };

    [Fact]
    public void Sev1_pages_every_role_of_the_plan_and_Sev2_the_commander_and_operations_lead()
    {
        var tree = Tree(_ => { });

        var sev1 = tree.GetNotificationPlan(IncidentSeverity.Sev1);
        var sev2 = tree.GetNotificationPlan(IncidentSeverity.Sev2);

        Assert.Equal([Ic, IcBackup, Ops, Dba, DevOps, Net, Comms, Exec], sev1.Recipients.Select(r => r.Person));
        Assert.Equal("Immediate page-out, war room", sev1.Response);
        Assert.Equal([Ic, IcBackup, Ops], sev2.Recipients.Select(r => r.Person));
        Assert.Equal([ContactRoles.IncidentCommander, ContactRoles.IncidentCommander, ContactRoles.OperationsLead], sev2.Recipients.Select(r => r.Role));
        Assert.Equal("On-call engineer + manager", sev2.Response);
    }

    [Fact]
    public void Default_tiers_follow_the_contact_tree_and_escalate_one_after_the_other()
    {
        var tree = Tree(_ => { });

        Assert.Equal(3, tree.Tiers.Count);
        Assert.Equal([Ic, IcBackup], tree.GetTier(1)!.People);
        Assert.Equal([Ops, Dba, DevOps, Net], tree.GetNextTier(1)!.People);
        Assert.Equal([Comms, Exec], tree.GetNextTier(2)!.People);
        Assert.Null(tree.GetNextTier(3));
        Assert.Equal(1, tree.GetNextTier(0)!.Number);
        Assert.Null(tree.GetTier(4));
        Assert.Equal(TimeSpan.FromMinutes(10), tree.GetTier(1)!.EscalateAfter);
    }

    [Fact]
    public void Configured_severities_and_tiers_replace_the_defaults_and_people_are_notified_once()
    {
        var tree = Tree(o =>
        {
            o.Roles[ContactRoles.DatabaseAdmin] = [Dba, Ops];
            o.Tiers = [new() { Name = "On call", Roles = [ContactRoles.OperationsLead], EscalateAfter = TimeSpan.FromMinutes(5) }, new() { Roles = [ContactRoles.ExecutiveSponsor] }];
            o.Severities["sev-2"] = new() { Roles = [ContactRoles.OperationsLead, ContactRoles.DatabaseAdmin], SlackChannel = "C0WARROOM", EmailCc = ["dr-list@example.com"] };
        });

        var sev2 = tree.GetNotificationPlan(IncidentSeverity.Sev2);

        Assert.Equal([Ops, Dba], sev2.Recipients.Select(r => r.Person));
        Assert.Equal("C0WARROOM", sev2.SlackChannel);
        Assert.Equal(["dr-list@example.com"], sev2.EmailCc);
        Assert.Equal("On call", tree.GetTier(1)!.Name);
        Assert.Equal("Tier 2", tree.GetNextTier(1)!.Name);
        Assert.Equal([Exec], tree.GetNextTier(1)!.People);
    }

    [Theory]
    [InlineData("SEV-1", IncidentSeverity.Sev1)]
    [InlineData("sev1", IncidentSeverity.Sev1)]
    [InlineData("Critical", IncidentSeverity.Sev1)]
    [InlineData(" SEV-2 ", IncidentSeverity.Sev2)]
    [InlineData("2", IncidentSeverity.Sev2)]
    [InlineData("high", IncidentSeverity.Sev2)]
    public void Parses_the_plans_severity_names(string text, IncidentSeverity expected)
    {
        Assert.Equal(expected, IncidentSeverities.Parse(text));
        Assert.Equal($"SEV-{(int)expected}", expected.ToLabel());
    }

    [Fact]
    public void An_unknown_severity_is_a_clear_error()
    {
        var error = Assert.Throws<NotificationException>(() => IncidentSeverities.Parse("SEV-9"));

        Assert.Contains("use SEV-1 (critical) or SEV-2 (high)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inconsistent_configuration_is_refused_at_start()
    {
        using var services = new ServiceCollection().AddLogging().AddNotifications(o =>
        {
            o.Contacts.Roles["Oncall"] = [new ContactPerson { Name = "Nobody" }, new ContactPerson { Name = "Bad", Email = "not-an-address" }];
            o.Contacts.Tiers = [new() { Roles = ["Typo"] }];
            o.Contacts.Severities["SEV-5"] = new();
            o.Slack.BotToken = "abc";
            o.StatusPage.ApiKey = "key-only";
            o.Email.Host = "smtp.example.com";
            o.Email.From = "dr@example.com";
            o.Email.UserName = "bot";
            o.Email.Password = "pw";
            o.Email.Security = "None";
        }).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<NotificationsOptions>>().Value);

        Assert.Contains("Nobody has no SlackUserId, Email or Phone", error.Message, StringComparison.Ordinal);
        Assert.Contains("'not-an-address' (Bad) is not an email address", error.Message, StringComparison.Ordinal);
        Assert.Contains("role 'Typo' is not in Notifications:Contacts:Roles", error.Message, StringComparison.Ordinal);
        Assert.Contains("'SEV-5' is not a severity", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not look like a Slack token", error.Message, StringComparison.Ordinal);
        Assert.Contains("needs both ApiKey and PageId", error.Message, StringComparison.Ordinal);
        Assert.Contains("clear text", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("key-only", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_configuration_is_valid_channels_are_simply_not_configured()
    {
        using var services = new ServiceCollection().AddLogging().AddNotifications(_ => { }).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<NotificationsOptions>>().Value;

        Assert.False(options.Slack.IsConfigured);
        Assert.False(options.Email.IsConfigured);
        Assert.False(options.StatusPage.IsConfigured);
    }

    [Fact]
    public void Binds_the_Notifications_section_of_the_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Notifications:Slack:BotToken"] = "xoxb-from-config",
            ["Notifications:Slack:MaxRetryAfter"] = "00:00:45",
            ["Notifications:Email:Host"] = "smtp.example.com",
            ["Notifications:Email:From"] = "dr@example.com",
            ["Notifications:Email:DefaultRecipients:0"] = "oncall@example.com",
            ["Notifications:Contacts:Roles:incidentcommander:0:Name"] = "Ines Commander",
            ["Notifications:Contacts:Roles:incidentcommander:0:SlackUserId"] = "U0IC",
            ["Notifications:Contacts:Severities:SEV-2:Roles:0"] = "IncidentCommander",
            ["Notifications:Contacts:Severities:SEV-2:SlackChannel"] = "C0WAR",
        }).Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddNotifications().BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<NotificationsOptions>>().Value;
        var plan = services.GetRequiredService<IContactTree>().GetNotificationPlan(IncidentSeverity.Sev2);

        Assert.True(options.Slack.IsConfigured);
        Assert.Equal(TimeSpan.FromSeconds(45), options.Slack.MaxRetryAfter);
        Assert.Equal(["oncall@example.com"], options.Email.DefaultRecipients);
        Assert.Equal("U0IC", Assert.Single(plan.Recipients).Person.SlackUserId);
        Assert.Equal("C0WAR", plan.SlackChannel);
    }

    private static IContactTree Tree(Action<ContactTreeOptions> configure)
    {
        var services = new ServiceCollection().AddLogging().AddNotifications(o =>
        {
            o.Contacts.Roles[ContactRoles.IncidentCommander] = [Ic, IcBackup];
            o.Contacts.Roles[ContactRoles.OperationsLead] = [Ops];
            o.Contacts.Roles[ContactRoles.DatabaseAdmin] = [Dba];
            o.Contacts.Roles[ContactRoles.DevOpsEngineer] = [DevOps];
            o.Contacts.Roles[ContactRoles.NetworkEngineer] = [Net];
            o.Contacts.Roles[ContactRoles.CommunicationsLead] = [Comms];
            o.Contacts.Roles[ContactRoles.ExecutiveSponsor] = [Exec];
            configure(o.Contacts);
        }).BuildServiceProvider();
        return services.GetRequiredService<IContactTree>();
    }
}
