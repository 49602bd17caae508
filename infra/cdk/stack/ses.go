package stack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// SESDimension is the CloudWatch dimension of the configuration set's
// event metrics: SES's automatic message tag naming the configuration set.
const SESDimension = "ses:configuration-set"

// mailSettings are how the functions send email: the sender (context key
// mailFrom; its domain is a verified SES identity the stack does not
// create), the links' base URL and the configuration set every message
// goes through.
type mailSettings struct {
	scope            constructs.Construct
	from             string
	publicURL        string
	configurationSet string
}

// newMailSettings creates the SES configuration set: reputation metrics,
// the account suppression list for bounces and complaints, and an event
// destination that publishes sends, deliveries, bounces, complaints and
// rejects to CloudWatch (namespace AWS/SES, dimension SESDimension), which
// the bounce alarm and the dashboard read.
func newMailSettings(scope constructs.Construct, props *StewardStackProps) mailSettings {
	m := mailSettings{scope: scope, from: props.MailFrom, publicURL: props.PublicURL, configurationSet: props.sesConfigurationSet()}
	cs := awsses.NewConfigurationSet(scope, jsii.String("MailConfigurationSet"), &awsses.ConfigurationSetProps{
		ConfigurationSetName: jsii.String(m.configurationSet),
		ReputationMetrics:    jsii.Bool(true),
		SendingEnabled:       jsii.Bool(true),
		SuppressionReasons:   awsses.SuppressionReasons_BOUNCES_AND_COMPLAINTS,
	})
	cs.AddEventDestination(jsii.String("CloudWatch"), &awsses.ConfigurationSetEventDestinationOptions{
		Destination: awsses.EventDestination_CloudWatchDimensions(&[]*awsses.CloudWatchDimension{{
			Name:         jsii.String(SESDimension),
			Source:       awsses.CloudWatchDimensionSource_MESSAGE_TAG,
			DefaultValue: jsii.String(m.configurationSet),
		}}),
		Events: &[]awsses.EmailSendingEvent{
			awsses.EmailSendingEvent_SEND, awsses.EmailSendingEvent_DELIVERY,
			awsses.EmailSendingEvent_BOUNCE, awsses.EmailSendingEvent_COMPLAINT,
			awsses.EmailSendingEvent_REJECT,
		},
	})
	return m
}

// addEnv sets the mail variables of a function that sends email.
func (m mailSettings) addEnv(env map[string]*string) {
	env[EnvPublicURL] = jsii.String(m.publicURL)
	env[EnvMailFrom] = jsii.String(m.from)
	env[EnvSESConfigurationSet] = jsii.String(m.configurationSet)
}

// senderIdentities are the SES identities mail is sent from: the
// sender's domain, and the address itself (for an account in the SES
// sandbox, or one that verified only the address).
func (m mailSettings) senderIdentities() (domain, address string) {
	addr := m.from
	if i := strings.LastIndexByte(addr, '<'); i >= 0 {
		addr = strings.TrimSuffix(addr[i+1:], ">")
	}
	return addr[strings.LastIndexByte(addr, '@')+1:], addr
}

// sendStatement allows ses:SendEmail from the sender's identities through
// the configuration set (SES authorizes a send against both) and nothing
// else.
func (m mailSettings) sendStatement() awsiam.PolicyStatement {
	stack := awscdk.Stack_Of(m.scope)
	arn := func(resource string) string {
		return fmt.Sprintf("arn:%s:ses:%s:%s:%s", *stack.Partition(), *stack.Region(), *stack.Account(), resource)
	}
	domain, addr := m.senderIdentities()
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:  awsiam.Effect_ALLOW,
		Actions: jsii.Strings("ses:SendEmail"),
		Resources: jsii.Strings(
			arn("identity/"+domain), arn("identity/"+addr),
			arn("configuration-set/"+m.configurationSet),
		),
	})
}

// metric is one of the configuration set's event metrics (Send,
// Delivery, Bounce, Complaint, Reject), summed per period.
func (m mailSettings) metric(name string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String("AWS/SES"),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{SESDimension: jsii.String(m.configurationSet)},
		Statistic:     jsii.String("Sum"),
		Period:        period,
	})
}
