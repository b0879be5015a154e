package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/multiline/onboarding/internal/mailer"
)

// activationText is every sentence of the activation page in one language.
type activationText struct {
	Lang, Title, Hello, HelloName, Organization, Account, NumberLegend, Reserved, Choose string
	NoNumbers, Activate, DoneTitle, DoneNumber, GoneTitle, Used, Replaced, Failed        string
	Withdrawn                                                                            string // its batch was undone
	AlreadyTitle                                                                         string // a used link opened again
	NotFoundTitle, NotFound, TooManyTitle, TooMany, ProblemTitle, ValidUntil, Retry      string
	NotOffered, FormTooLarge, FormUnreadable, expired                                    string
}

// Expired says when the link expired.
func (t activationText) Expired(date string) string { return fmt.Sprintf(t.expired, date) }

var activationTexts = map[string]activationText{
	"en": {
		Lang: "en", Title: "Activate your MultiLine account", Hello: "Hello,", HelloName: "Hello %s,",
		Organization: "Organization", Account: "Account", NumberLegend: "Your MultiLine number",
		Reserved: "reserved for you", Choose: "Or choose another number:",
		NoNumbers: "No number is available for you right now. Ask your administrator to add numbers, then open this link again.",
		Activate:  "Activate my account", DoneTitle: "Your account is active", DoneNumber: "Your MultiLine number is %s.",
		GoneTitle:     "This link no longer works",
		AlreadyTitle:  "Your account is already active",
		expired:       "This invitation expired on %s. Ask your administrator to send you a new one.",
		Used:          "This invitation has already been used to activate your account. You can sign in to MultiLine.",
		Replaced:      "This invitation has been replaced by a newer one. Open the link in the most recent invitation email.",
		Failed:        "This invitation could not be delivered and no longer works. Ask your administrator to send you a new one.",
		Withdrawn:     "This invitation was withdrawn by your administrator and no longer works. Ask them whether you should still have a MultiLine account.",
		NotFoundTitle: "This link is not valid", NotFound: "Check that you opened the whole link from your invitation email, or ask your administrator to send you a new invitation.",
		TooManyTitle: "Too many attempts", TooMany: "Too many links that do not exist were tried from your network. Wait a few minutes, then open the link from your email again.",
		ProblemTitle: "Your account could not be activated", ValidUntil: "This link is valid until %s.",
		Retry:          "Something went wrong on our side. Please try again in a moment.",
		NotOffered:     "The number you chose is no longer available to you. Please choose one of the numbers below.",
		FormTooLarge:   "The form you sent was too large to be read, so nothing was changed. Open the link from your invitation email again and choose your number.",
		FormUnreadable: "The form you sent could not be read, so nothing was changed. Open the link from your invitation email again and choose your number.",
	},
	"it": {
		Lang: "it", Title: "Attivi il Suo account MultiLine", Hello: "Gentile utente,", HelloName: "Gentile %s,",
		Organization: "Organizzazione", Account: "Account", NumberLegend: "Il Suo numero MultiLine",
		Reserved: "riservato per Lei", Choose: "Oppure scelga un altro numero:",
		NoNumbers: "Al momento non ci sono numeri disponibili per Lei. Chieda al Suo amministratore di aggiungerne, poi apra di nuovo questo link.",
		Activate:  "Attiva il mio account", DoneTitle: "Il Suo account è attivo", DoneNumber: "Il Suo numero MultiLine è %s.",
		GoneTitle:     "Questo link non è più valido",
		AlreadyTitle:  "Il Suo account è già attivo",
		expired:       "Questo invito è scaduto il giorno %s. Chieda al Suo amministratore di inviarLe un nuovo invito.",
		Used:          "Questo invito è già stato usato per attivare il Suo account. Può accedere a MultiLine.",
		Replaced:      "Questo invito è stato sostituito da uno più recente. Apra il link contenuto nell'ultima email di invito ricevuta.",
		Failed:        "Non è stato possibile consegnare questo invito, che non è più valido. Chieda al Suo amministratore di inviarLe un nuovo invito.",
		Withdrawn:     "Questo invito è stato ritirato dal Suo amministratore e non è più valido. Chieda al Suo amministratore se deve ancora avere un account MultiLine.",
		NotFoundTitle: "Questo link non è valido", NotFound: "Verifichi di aver aperto il link completo contenuto nell'email di invito, oppure chieda al Suo amministratore di inviarLe un nuovo invito.",
		TooManyTitle: "Troppi tentativi", TooMany: "Dalla Sua rete sono stati provati troppi link inesistenti. Attenda qualche minuto, poi apra di nuovo il link contenuto nella Sua email.",
		ProblemTitle: "Non è stato possibile attivare il Suo account", ValidUntil: "Il link è valido fino al giorno %s.",
		Retry:          "Si è verificato un problema da parte nostra. La preghiamo di riprovare tra qualche istante.",
		NotOffered:     "Il numero scelto non è più disponibile per Lei. La preghiamo di scegliere uno dei numeri qui sotto.",
		FormTooLarge:   "Il modulo inviato era troppo grande per essere letto, quindi non è stato modificato nulla. Apra di nuovo il link contenuto nell'email di invito e scelga il Suo numero.",
		FormUnreadable: "Non è stato possibile leggere il modulo inviato, quindi non è stato modificato nulla. Apra di nuovo il link contenuto nell'email di invito e scelga il Suo numero.",
	},
	"de": {
		Lang: "de", Title: "Ihr MultiLine-Konto aktivieren", Hello: "Guten Tag,", HelloName: "Guten Tag %s,",
		Organization: "Organisation", Account: "Konto", NumberLegend: "Ihre MultiLine-Nummer",
		Reserved: "für Sie reserviert", Choose: "Oder wählen Sie eine andere Nummer:",
		NoNumbers: "Derzeit ist keine Nummer für Sie verfügbar. Bitten Sie Ihren Administrator, Nummern hinzuzufügen, und öffnen Sie diesen Link dann erneut.",
		Activate:  "Mein Konto aktivieren", DoneTitle: "Ihr Konto ist aktiv", DoneNumber: "Ihre MultiLine-Nummer ist %s.",
		GoneTitle:     "Dieser Link ist nicht mehr gültig",
		AlreadyTitle:  "Ihr Konto ist bereits aktiv",
		expired:       "Diese Einladung ist am %s abgelaufen. Bitten Sie Ihren Administrator um eine neue Einladung.",
		Used:          "Mit dieser Einladung wurde Ihr Konto bereits aktiviert. Sie können sich bei MultiLine anmelden.",
		Replaced:      "Diese Einladung wurde durch eine neuere ersetzt. Öffnen Sie den Link in der neuesten Einladungs-E-Mail.",
		Failed:        "Diese Einladung konnte nicht zugestellt werden und ist nicht mehr gültig. Bitten Sie Ihren Administrator um eine neue Einladung.",
		Withdrawn:     "Diese Einladung wurde von Ihrem Administrator zurückgezogen und ist nicht mehr gültig. Fragen Sie ihn, ob Sie weiterhin ein MultiLine-Konto erhalten sollen.",
		NotFoundTitle: "Dieser Link ist ungültig", NotFound: "Prüfen Sie, ob Sie den vollständigen Link aus Ihrer Einladungs-E-Mail geöffnet haben, oder bitten Sie Ihren Administrator um eine neue Einladung.",
		TooManyTitle: "Zu viele Versuche", TooMany: "Aus Ihrem Netzwerk wurden zu viele nicht existierende Links aufgerufen. Warten Sie einige Minuten und öffnen Sie dann den Link aus Ihrer E-Mail erneut.",
		ProblemTitle: "Ihr Konto konnte nicht aktiviert werden", ValidUntil: "Dieser Link ist gültig bis zum %s.",
		Retry:          "Bei uns ist ein Fehler aufgetreten. Bitte versuchen Sie es gleich noch einmal.",
		NotOffered:     "Die gewählte Nummer steht Ihnen nicht mehr zur Verfügung. Bitte wählen Sie eine der Nummern unten.",
		FormTooLarge:   "Das gesendete Formular war zu groß, um gelesen zu werden; es wurde nichts geändert. Öffnen Sie den Link aus Ihrer Einladungs-E-Mail erneut und wählen Sie Ihre Nummer.",
		FormUnreadable: "Das gesendete Formular konnte nicht gelesen werden; es wurde nichts geändert. Öffnen Sie den Link aus Ihrer Einladungs-E-Mail erneut und wählen Sie Ihre Nummer.",
	},
	"fr": {
		Lang: "fr", Title: "Activez votre compte MultiLine", Hello: "Bonjour,", HelloName: "Bonjour %s,",
		Organization: "Organisation", Account: "Compte", NumberLegend: "Votre numéro MultiLine",
		Reserved: "réservé pour vous", Choose: "Ou choisissez un autre numéro :",
		NoNumbers: "Aucun numéro n'est disponible pour vous pour le moment. Demandez à votre administrateur d'en ajouter, puis ouvrez de nouveau ce lien.",
		Activate:  "Activer mon compte", DoneTitle: "Votre compte est activé", DoneNumber: "Votre numéro MultiLine est le %s.",
		GoneTitle:     "Ce lien n'est plus valable",
		AlreadyTitle:  "Votre compte est déjà actif",
		expired:       "Cette invitation a expiré le %s. Demandez à votre administrateur de vous en envoyer une nouvelle.",
		Used:          "Cette invitation a déjà servi à activer votre compte. Vous pouvez vous connecter à MultiLine.",
		Replaced:      "Cette invitation a été remplacée par une plus récente. Ouvrez le lien figurant dans le dernier e-mail d'invitation.",
		Failed:        "Cette invitation n'a pas pu être distribuée et n'est plus valable. Demandez à votre administrateur de vous en envoyer une nouvelle.",
		Withdrawn:     "Cette invitation a été retirée par votre administrateur et n'est plus valable. Demandez-lui si vous devez toujours disposer d'un compte MultiLine.",
		NotFoundTitle: "Ce lien n'est pas valable", NotFound: "Vérifiez que vous avez ouvert le lien complet de votre e-mail d'invitation, ou demandez à votre administrateur de vous envoyer une nouvelle invitation.",
		TooManyTitle: "Trop de tentatives", TooMany: "Trop de liens inexistants ont été essayés depuis votre réseau. Patientez quelques minutes, puis ouvrez de nouveau le lien de votre e-mail.",
		ProblemTitle: "Votre compte n'a pas pu être activé", ValidUntil: "Ce lien est valable jusqu'au %s.",
		Retry:          "Un problème est survenu de notre côté. Veuillez réessayer dans un instant.",
		NotOffered:     "Le numéro choisi n'est plus disponible pour vous. Veuillez choisir l'un des numéros ci-dessous.",
		FormTooLarge:   "Le formulaire envoyé était trop volumineux pour être lu ; rien n'a été modifié. Ouvrez de nouveau le lien de votre e-mail d'invitation et choisissez votre numéro.",
		FormUnreadable: "Le formulaire envoyé n'a pas pu être lu ; rien n'a été modifié. Ouvrez de nouveau le lien de votre e-mail d'invitation et choisissez votre numéro.",
	},
	"es": {
		Lang: "es", Title: "Active su cuenta de MultiLine", Hello: "Hola:", HelloName: "Hola, %s:",
		Organization: "Organización", Account: "Cuenta", NumberLegend: "Su número de MultiLine",
		Reserved: "reservado para usted", Choose: "O elija otro número:",
		NoNumbers: "Ahora mismo no hay ningún número disponible para usted. Pida a su administrador que añada números y vuelva a abrir este enlace.",
		Activate:  "Activar mi cuenta", DoneTitle: "Su cuenta está activa", DoneNumber: "Su número de MultiLine es el %s.",
		GoneTitle:     "Este enlace ya no es válido",
		AlreadyTitle:  "Su cuenta ya está activa",
		expired:       "Esta invitación caducó el %s. Pida a su administrador que le envíe una nueva.",
		Used:          "Esta invitación ya se ha usado para activar su cuenta. Puede iniciar sesión en MultiLine.",
		Replaced:      "Esta invitación se ha sustituido por otra más reciente. Abra el enlace del último correo de invitación que haya recibido.",
		Failed:        "No se ha podido entregar esta invitación y ya no es válida. Pida a su administrador que le envíe una nueva.",
		Withdrawn:     "Su administrador ha retirado esta invitación y ya no es válida. Pregúntele si todavía debe tener una cuenta de MultiLine.",
		NotFoundTitle: "Este enlace no es válido", NotFound: "Compruebe que ha abierto el enlace completo del correo de invitación o pida a su administrador que le envíe una nueva invitación.",
		TooManyTitle: "Demasiados intentos", TooMany: "Se han probado demasiados enlaces inexistentes desde su red. Espere unos minutos y vuelva a abrir el enlace de su correo.",
		ProblemTitle: "No se ha podido activar su cuenta", ValidUntil: "El enlace es válido hasta el %s.",
		Retry:          "Algo ha fallado por nuestra parte. Vuelva a intentarlo en unos instantes.",
		NotOffered:     "El número elegido ya no está disponible para usted. Por favor, elija uno de los números siguientes.",
		FormTooLarge:   "El formulario enviado era demasiado grande para leerlo, así que no se ha cambiado nada. Vuelva a abrir el enlace del correo de invitación y elija su número.",
		FormUnreadable: "No se ha podido leer el formulario enviado, así que no se ha cambiado nada. Vuelva a abrir el enlace del correo de invitación y elija su número.",
	},
}

// pageText returns the activation page's sentences in lang, English when unknown.
func pageText(lang string) activationText {
	return activationTexts[mailer.NormalizeLanguage(lang)]
}

// browserLanguage picks the first of the browser's Accept-Language tags that the page speaks,
// for pages that know nothing of the account (an unknown link).
func browserLanguage(r *http.Request) string {
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if _, ok := activationTexts[base]; ok {
			return base
		}
	}
	return mailer.DefaultLanguage
}
